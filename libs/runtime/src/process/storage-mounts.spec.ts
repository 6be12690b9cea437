import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MountError, mountStorage } from './storage-mounts.js';

describe('mountStorage', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lp-mounts-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // A connector stored before the API refused these (or a member's credential named like one) must
  // not reach rclone, which would run the command as this service.
  it('refuses a configuration that would make rclone run a program, before running rclone', async () => {
    const marker = join(dir, 'owned');
    const mount = { name: 'Evil', storageType: 'webdav', configuration: { url: 'http://127.0.0.1:9/', bearer_token_command: `touch ${marker}` }, sourcePath: '', targetPath: 'evil', readonly: true };
    await expect(mountStorage(join(dir, 'rclone'), join(dir, 'work'), [mount])).rejects.toThrow(MountError);
    await expect(mountStorage(join(dir, 'rclone'), join(dir, 'work'), [mount])).rejects.toThrow(/data connector "Evil".*bearer_token_command/);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(dir, 'rclone'))).toBe(false);
  });

  it('refuses a backend on this machine’s own disk', async () => {
    const mount = { name: 'Disk', storageType: 'local', configuration: {}, sourcePath: '/', targetPath: 'disk', readonly: true };
    await expect(mountStorage(join(dir, 'rclone'), join(dir, 'work'), [mount])).rejects.toThrow(/data connector "Disk".*local/);
  });

  // The work directory is the workload's: a link its programs left where a connector goes must not
  // be followed by us (root), which would give the link's target to the workload's uid or mount over it.
  it('refuses a target that is a symbolic link, leaving what it points to as it was', async () => {
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    mkdirSync(join(dir, 'work'));
    symlinkSync(elsewhere, join(dir, 'work', 'data'));
    const owner = statSync(elsewhere).uid;
    const mount = { name: 'Scratch', storageType: 'memory', configuration: {}, sourcePath: '', targetPath: 'data', readonly: false };
    await expect(mountStorage(join(dir, 'rclone'), join(dir, 'work'), [mount], { uid: 4_000_123, gid: 4_000_123 })).rejects.toThrow(/data connector "Scratch": \/work\/data is not a directory/);
    expect(statSync(elsewhere).uid).toBe(owner);
  });
});
