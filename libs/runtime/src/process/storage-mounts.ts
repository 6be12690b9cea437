import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { storageProblems } from '@launchpad/contracts';
import type { StorageMount } from '../runtime.js';
import type { WorkloadUser } from './workload-users.js';

/** A data connector that could not be mounted: the message says which, and what rclone said. */
export class MountError extends Error {
  override name = 'MountError';
}

/** rclone options whose values it wants obscured (`rclone obscure`) in its configuration. */
const OBSCURED = /^(pass|password|.*_pass|.*_password)$/;
const RCLONE_TIMEOUT_MS = 60_000;

/** Why mounting cannot work on this machine, in words; null when it can. */
export function fuseProblem(): string | null {
  if (!existsSync('/dev/fuse')) return 'FUSE is not available on this machine (/dev/fuse is missing), so data connectors cannot be mounted';
  if (!['/usr/bin/fusermount3', '/bin/fusermount3', '/usr/bin/fusermount', '/bin/fusermount'].some((p) => existsSync(p))) {
    return 'FUSE is not available on this machine (fusermount3 is not installed: apt-get install fuse3), so data connectors cannot be mounted';
  }
  return null;
}

function run(args: string[], options: { input?: string; timeoutMs?: number; gid?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    // A minimal environment: nothing of ours (and no RCLONE_* of the host) reaches rclone.
    const child = spawn('rclone', args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' },
      stdio: ['pipe', 'pipe', 'pipe'],
      // In the workload's group (no other): its connections meet the workload's firewall rules.
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? RCLONE_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      fail((error as NodeJS.ErrnoException).code === 'ENOENT' ? new MountError('rclone is not installed on this machine (apt-get install rclone), so data connectors cannot be mounted') : error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** rclone's own words, without its timestamps: the last few lines it wrote. */
function rcloneSaid(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '').trim())
    .filter(Boolean);
  return lines.slice(-3).join('; ') || 'nothing';
}

/** The remote's section of an rclone configuration, passwords obscured as rclone expects. */
async function configFor(mount: StorageMount): Promise<string> {
  const lines = ['[remote]', `type = ${mount.storageType}`];
  for (const [option, value] of Object.entries(mount.configuration)) {
    if (/[\r\n]/.test(value)) throw new MountError(`data connector "${mount.name}": option ${option} has a line break`);
    let v = value;
    if (OBSCURED.test(option) && value !== '') {
      // Given on stdin: a value on the command line could be read by anyone on this machine.
      const obscured = await run(['obscure', '-'], { input: value });
      if (obscured.code !== 0) throw new MountError(`data connector "${mount.name}": rclone could not obscure ${option}: ${rcloneSaid(obscured.stderr)}`);
      v = obscured.stdout.trim();
    }
    lines.push(`${option} = ${v}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Mounts each data connector at `<workDir>/<targetPath>` with `rclone mount --daemon`, after
 * `rclone lsf` has shown the credentials work (a mount alone would come up and show an empty or
 * failing directory later). Configurations, with the credentials, stay in `<configDir>` (0700,
 * files 0600) while mounted and are deleted at unmount.
 *
 * For an isolated workload (`user`), rclone stays root, because only root may open /dev/fuse
 * where it is 0600, but runs in the workload's group, which the firewall holds off the platform's
 * and other workloads' ports exactly as it holds the workload (a connector's URL naming
 * 127.0.0.1:4222 reaches nothing); the mount is the workload's (`--uid`, `--umask 077`, kernel-
 * checked permissions), so its programs read and write it and no other workload can.
 */
export async function mountStorage(configDir: string, workDir: string, mounts: readonly StorageMount[], user: WorkloadUser | null = null): Promise<void> {
  if (mounts.length === 0) return;
  // rclone runs with our rights: a connector stored before the API refused these, or a member's
  // credential named like one of them, must not reach it.
  for (const mount of mounts) {
    const refused = storageProblems(mount.storageType, mount.configuration);
    if (refused.length > 0) throw new MountError(`data connector "${mount.name}" cannot be mounted: ${refused.map((p) => p.message).join('; ')}`);
  }
  const problem = fuseProblem();
  if (problem) throw new MountError(`${problem}: "${mounts.map((m) => m.name).join('", "')}" would be missing from /work; skip them with dataConnectorsOverrides ({"dataConnectorId": ..., "skip": true})`);
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  await chmod(configDir, 0o700);
  for (const [index, mount] of mounts.entries()) {
    const target = join(workDir, mount.targetPath);
    if (resolve(target) !== join(resolve(workDir), mount.targetPath)) throw new MountError(`data connector "${mount.name}": targetPath must be one directory under /work`);
    if (await isMountPoint(target)) continue; // mounted by an earlier start that survived a restart
    // The work directory is the workload's, and so is whatever an earlier run of its programs left
    // at targetPath: a symbolic link to /etc or to another workload's directory, say. We are root:
    // following it, chown would hand its target to the workload and rclone would mount over it.
    const found = await lstat(target).catch(() => null);
    if (found && !found.isDirectory()) {
      throw new MountError(`data connector "${mount.name}": /work/${mount.targetPath} is not a directory (a link or a file is there); remove it or choose another targetPath`);
    }
    const config = join(configDir, `${index}.conf`);
    await writeFile(config, await configFor(mount), { mode: 0o600 });
    const remote = `remote:${mount.sourcePath}`;
    const asWorkload = user ? { gid: user.gid } : {};
    const check = await run(['--config', config, 'lsf', '--max-depth', '1', '--low-level-retries', '1', '--retries', '1', remote], asWorkload);
    if (check.code !== 0) {
      throw new MountError(
        `data connector "${mount.name}" (${mount.storageType}) could not be read: the storage refused the credentials or is not reachable; rclone said: ${rcloneSaid(check.stderr)}`,
      );
    }
    if (!found) await mkdir(target);
    // lchown: never through a link, even one put there since the look above.
    if (user) await lchown(target, user.uid, user.gid);
    if ((await readdir(target)).length > 0) throw new MountError(`data connector "${mount.name}": /work/${mount.targetPath} already holds files (a repository of that name?); choose another targetPath`);
    const args = ['--config', config, 'mount', remote, target, '--daemon', '--daemon-wait', '30s', '--dir-cache-time', '10s'];
    if (mount.readonly) args.push('--read-only');
    if (user) args.push('--uid', String(user.uid), '--gid', String(user.gid), '--umask', '077', '--allow-other', '--default-permissions');
    const mounted = await run(args, asWorkload);
    if (mounted.code !== 0 || !(await isMountPoint(target))) {
      throw new MountError(`data connector "${mount.name}" could not be mounted at /work/${mount.targetPath}; rclone said: ${rcloneSaid(mounted.stderr)}`);
    }
  }
}

/** Mount points under `dir` (from /proc/self/mounts), deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const base = resolve(dir);
  const text = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' ') ?? '')
    .filter((point) => point === base || point.startsWith(`${base}/`))
    .sort((a, b) => b.length - a.length);
}

async function isMountPoint(path: string): Promise<boolean> {
  return (await mountsUnder(path)).includes(resolve(path));
}

/**
 * Unmounts every mount under `workDir` (lazily: a program still holding a file does not keep the
 * stop from finishing) and deletes the configurations. Must run before the directory is deleted:
 * otherwise deleting it would delete the storage's files through a writable mount.
 */
export async function unmountStorage(configDir: string, workDir: string): Promise<void> {
  for (const point of await mountsUnder(workDir)) {
    await new Promise<void>((done) => execFile('fusermount3', ['-u', '-z', point], () => done()));
    if (await isMountPoint(point)) await new Promise<void>((done) => execFile('umount', ['-l', point], () => done()));
  }
  await rm(configDir, { recursive: true, force: true });
}
