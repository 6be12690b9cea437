import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWorkloads, ROOT, waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { readSse } from '../tools/testing/sse.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');
const GB = 1024 ** 3;

/** Disk a session asks for within its class, and what it uses, measured on the real process runtime. */
describe('session disk', () => {
  let p: TestPlatform;
  let dataDir: string;
  let admin: string, dana: string;
  let launcherId: string;

  const settled = (id: string, statuses: string[]) =>
    waitFor(
      `session ${id} to be ${statuses.join(' or ')}`,
      async () => {
        const res = await call(`${p.api}/sessions/${id}`, { token: dana });
        return statuses.includes(res.body?.status) ? res.body : undefined;
      },
      60_000,
    );

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-disk-'));
    p = await startPlatform(
      { sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '1000', LEADER_ELECTION_INTERVAL_MS: '500', SESSION_DISK_CHECK_INTERVAL_MS: '300' } },
      { services: ['sessions'] },
    );
    [admin, dana] = await Promise.all([p.token('root', true), p.token('dana')]);
    expect((await call(`${p.api}/projects/601`, { method: 'PUT', token: admin, body: { path: 'lab/disk', name: 'Disk', visibility: 'private' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/601/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
    const pool = (await call(`${p.api}/resource-pools`, { token: admin })).body.items.find((x: { isDefault: boolean }) => x.isDefault);
    // A class whose default disk is about 1 MB, so that a test can fill 90 % of it.
    const cls = await call(`${p.api}/resource-pools/${pool.id}/classes`, {
      method: 'POST',
      token: admin,
      body: { id: 'tiny-disk', name: 'Tiny disk', cpu: 0.1, memoryGb: 0.1, gpu: 0, diskGb: 0.001, maxStorageGb: 2 },
    });
    expect(cls.status).toBe(201);
    expect(cls.body).toMatchObject({ diskGb: 0.001, defaultStorageGb: 0.001, maxStorageGb: 2 });
    const launcher = await call(`${p.api}/projects/601/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'Notebook', kind: 'session', resourceClassId: 'tiny-disk', environment: { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: [process.execPath], args: [PROGRAM] } },
    });
    expect(launcher.status).toBe(201);
    launcherId = launcher.body.id;
  });

  afterAll(async () => {
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses more disk than the class allows, naming the class and its maximum', async () => {
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId, diskStorageGb: 3 } });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('DISK_STORAGE_NOT_ALLOWED');
    expect(res.body.detail).toMatch(/diskStorageGb 3 GB is more than resource class "Tiny disk" allows \(at most 2 GB\)/);
    expect((await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId, diskStorageGb: 1.5 } })).status).toBe(400);
    const badClass = await call(`${p.api}/resource-pools/${(await call(`${p.api}/resource-pools`, { token: admin })).body.items[0].id}/classes`, {
      method: 'POST',
      token: admin,
      body: { name: 'Odd', cpu: 1, memoryGb: 1, gpu: 0, diskGb: 10, maxStorageGb: 5 },
    });
    expect(badClass.status).toBe(400);
    expect(JSON.stringify(badClass.body)).toContain('maxStorageGb must be at least diskGb');
    const launcherAsksTooMuch = await call(`${p.api}/launchers/${launcherId}`, { method: 'PATCH', token: dana, body: { diskStorageGb: 5 } });
    expect(launcherAsksTooMuch.status).toBe(200);
    expect(launcherAsksTooMuch.body.diskStorageGb).toBe(5);
    const refused = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId } });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/the launcher's diskStorageGb 5 GB/);
    expect((await call(`${p.api}/launchers/${launcherId}`, { method: 'PATCH', token: dana, body: { diskStorageGb: null } })).status).toBe(200);
  });

  it('reports the usage of /work in the status, and warns at 90 % in the status and on the stream, once', async () => {
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId } });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    expect(res.body.diskStorageGb).toBe(0.001);
    await settled(id, ['running']);
    const measured = await waitFor('a first measurement', async () => {
      const s = await call(`${p.api}/sessions/${id}`, { token: dana });
      return s.body.disk ?? undefined;
    });
    expect(measured).toMatchObject({ limitBytes: 0.001 * GB, warning: null });
    expect(measured.usedBytes).toBeLessThan(0.9 * 0.001 * GB);
    // 93 % of its 1 GB / 1000.
    writeFileSync(join(dataDir, id, 'work', 'big.bin'), Buffer.alloc(1_000_000, 1));
    const warned = await waitFor('the disk warning', async () => {
      const s = await call(`${p.api}/sessions/${id}`, { token: dana });
      return s.body.disk?.warning ? s.body : undefined;
    });
    expect(warned.disk.usedBytes).toBeGreaterThanOrEqual(1_000_000);
    expect(warned.disk.usedPercent).toBeGreaterThanOrEqual(90);
    expect(warned.disk.warning).toMatch(/^disk almost full: .* GB of 0.001 GB used \(\d+ %\) in \/work/);
    expect(warned.status).toBe('running');
    const { events } = await readSse(`${p.api}/sessions/${id}/events`, { authorization: `Bearer ${dana}` }, (es) => es.some((e) => /disk almost full/.test(e.data.message)));
    expect(events.filter((e) => /disk almost full/.test(e.data.message))).toHaveLength(1);
    // Said once: more measurements above 90 % add no step.
    const seqBefore = events.length;
    await new Promise((r) => setTimeout(r, 1500));
    const again = await readSse(`${p.api}/sessions/${id}/events`, { authorization: `Bearer ${dana}` }, (es) => es.length >= seqBefore);
    expect(again.events.filter((e) => /disk almost full/.test(e.data.message))).toHaveLength(1);

    // Full: the status says so, and that writes fail now.
    writeFileSync(join(dataDir, id, 'work', 'more.bin'), Buffer.alloc(200_000, 1));
    const full = await waitFor('the disk to be full', async () => {
      const s = await call(`${p.api}/sessions/${id}`, { token: dana });
      return /^disk full/.test(s.body.disk?.warning ?? '') ? s.body : undefined;
    });
    expect(full.disk.warning).toMatch(/^disk full: .* GB of 0.001 GB used \(\d+ %\) in \/work; writes fail now: delete files, or hibernate it and resume it with a class that allows more$/);
  });

  it('a program that fails on a full disk: the failure says disk full first, what to do, and what the program said', async () => {
    const launcher = await call(`${p.api}/projects/601/launchers`, {
      method: 'POST',
      token: dana,
      body: {
        name: 'Writes too much',
        kind: 'session',
        resourceClassId: 'tiny-disk',
        // A real program whose write failed with ENOSPC, as Python reports it.
        environment: { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: ['sh'], args: ['-c', 'echo "OSError: [Errno 28] No space left on device: \'/work/out.parquet\'" >&2; exit 1'] },
      },
    });
    expect(launcher.status).toBe(201);
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: launcher.body.id } });
    expect(res.status).toBe(201);
    const failed = await settled(res.body.id, ['failed']);
    expect(failed.message).toMatch(/^disk full: the session's \/work has no room left .*; its files are kept: resume it and delete some, or resume it with a class that allows more/);
    expect(failed.message).toContain("No space left on device: '/work/out.parquet'");
  });

  it('asks for a larger disk at launch within the class', async () => {
    const other = await call(`${p.api}/projects/601/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'Big', kind: 'session', resourceClassId: 'tiny-disk', diskStorageGb: 1, environment: { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: [process.execPath], args: [PROGRAM] } },
    });
    expect(other.status).toBe(201);
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: other.body.id, diskStorageGb: 2 } });
    expect(res.status).toBe(201);
    expect(res.body.diskStorageGb).toBe(2);
  });
});
