import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWorkloads, ROOT, waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { originFetch, sessionOrigin } from '../tools/testing/origins.js';
import { readSse } from '../tools/testing/sse.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');

/**
 * Hibernation and resume never lose files (issue 11), on the real process runtime: a file
 * written in /work survives a hibernation asked for while the session is still starting, a
 * resume with another resource class, and a restart of the sessions service (SIGKILL) between
 * hibernating and resuming.
 */
describe('pausing never loses /work', () => {
  let p: TestPlatform;
  let dataDir: string;
  let admin: string, dana: string;
  let launcherId: string;

  const get = async (id: string) => (await call(`${p.api}/sessions/${id}`, { token: dana })).body;
  const until = (id: string, status: string, timeoutMs = 60_000) =>
    waitFor(
      `session ${id} to be ${status}`,
      async () => {
        const s = await get(id);
        if (s.status === 'failed' && status !== 'failed') throw new Error(`session failed: ${s.message}`);
        return s.status === status ? s : undefined;
      },
      timeoutMs,
      200,
    );
  const patch = (id: string, body: unknown) => call(`${p.api}/sessions/${id}`, { method: 'PATCH', token: dana, body });
  const work = (id: string) => join(dataDir, id, 'work');
  /** What the session's own program sees in its working directory. */
  const programSees = async (id: string): Promise<string[]> => {
    const page = await originFetch(`${sessionOrigin(p.gateway.port, id)}/`, { headers: { authorization: `Bearer ${dana}` } });
    expect(page.status).toBe(200);
    return ((await page.json()) as { files: string[] }).files;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-keep-'));
    p = await startPlatform({ sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '1000', LEADER_ELECTION_INTERVAL_MS: '500' } }, { services: ['sessions'] });
    [admin, dana] = await Promise.all([p.token('root', true), p.token('dana')]);
    expect((await call(`${p.api}/projects/931`, { method: 'PUT', token: admin, body: { path: 'lab/keep', name: 'Keep', visibility: 'private' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/931/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
    const publicPool = (await call(`${p.api}/resource-pools`, { token: admin })).body.items.find((x: { isDefault: boolean }) => x.isDefault);
    expect((await call(`${p.api}/resource-pools/${publicPool.id}/classes`, { method: 'POST', token: admin, body: { id: 'roomy', name: 'Roomy', cpu: 2, memoryGb: 4, gpu: 0, diskGb: 20 } })).status).toBe(201);
    // A public pool too small for its one class, and a private one dana may not use.
    const tiny = await call(`${p.api}/resource-pools`, {
      method: 'POST',
      token: admin,
      body: { name: 'Tiny', public: true, quota: { cpu: 1, memoryGb: 1, gpu: 0 }, classes: [{ id: 'too-big', name: 'Too big', cpu: 2, memoryGb: 1, gpu: 0 }] },
    });
    expect(tiny.status).toBe(201);
    const closed = await call(`${p.api}/resource-pools`, {
      method: 'POST',
      token: admin,
      body: { name: 'Closed', public: false, quota: { cpu: 8, memoryGb: 8, gpu: 0 }, classes: [{ id: 'closed', name: 'Closed', cpu: 1, memoryGb: 1, gpu: 0 }] },
    });
    expect(closed.status).toBe(201);
    const launcher = await call(`${p.api}/projects/931/launchers`, {
      method: 'POST',
      token: dana,
      // A program slow to answer: a session that stays "starting" long enough to be hibernated then.
      body: { name: 'Notebook', kind: 'session', environment: { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: [process.execPath], args: [PROGRAM], env: { PROGRAM_LISTEN_DELAY_MS: '4000' } } },
    });
    expect(launcher.status).toBe(201);
    launcherId = launcher.body.id;
  });

  afterAll(async () => {
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  let id: string;

  it('keeps a file written while starting through a hibernation asked for then', async () => {
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId } });
    expect(res.status).toBe(201);
    id = res.body.id;
    // The work directory is made, the program is not answering yet: the session is still starting.
    await waitFor('the work directory', async () => existsSync(work(id)) && (await get(id)).status === 'starting', 30_000, 50);
    writeFileSync(join(work(id), 'notes.txt'), 'written while starting');
    expect((await get(id)).status).toBe('starting');
    expect((await patch(id, { state: 'hibernated' })).status).toBe(200);
    await until(id, 'hibernated');
    expect(readFileSync(join(work(id), 'notes.txt'), 'utf8')).toBe('written while starting');
    expect((await patch(id, { state: 'running' })).status).toBe(200);
    await until(id, 'running');
    expect(await programSees(id)).toContain('notes.txt');
  });

  it('resumes with another class within quota, refusing what does not fit, keeping its files', async () => {
    // Only a hibernated session changes class; only a resume takes one.
    const running = await patch(id, { state: 'running', resourceClassId: 'roomy' });
    expect(running.status).toBe(409);
    expect(running.body).toMatchObject({ code: 'SESSION_NOT_HIBERNATED' });
    expect(running.body.detail).toMatch(/hibernate it first/);
    const withHibernate = await patch(id, { state: 'hibernated', resourceClassId: 'roomy' });
    expect(withHibernate.status).toBe(400);
    expect(withHibernate.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(JSON.stringify(withHibernate.body)).toContain('resourceClassId is taken with state \\"running\\" only');

    writeFileSync(join(work(id), 'results.csv'), 'a,b\n1,2\n');
    expect((await patch(id, { state: 'hibernated' })).status).toBe(200);
    await until(id, 'hibernated');

    const unknown = await patch(id, { state: 'running', resourceClassId: 'no-such-class' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('RESOURCE_CLASS_NOT_FOUND');
    const tooBig = await patch(id, { state: 'running', resourceClassId: 'too-big' });
    expect(tooBig.status).toBe(409);
    expect(tooBig.body).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(tooBig.body.detail).toMatch(/resource pool "Tiny" has 1 CPU, 1 GB memory and 0 GPU left, but class "Too big" needs 2 CPU/);
    // The root cause a person can act on: none of the pool's use is theirs.
    expect(tooBig.body.detail).toMatch(/none of it is held by your sessions \(other people's use it\); choose a smaller class or one of another pool, or ask an administrator for a larger quota$/);
    const closed = await patch(id, { state: 'running', resourceClassId: 'closed' });
    expect(closed.status).toBe(403);
    expect(closed.body.code).toBe('RESOURCE_POOL_NOT_ALLOWED');
    // Refused resumes change nothing.
    expect(await get(id)).toMatchObject({ status: 'hibernated', resourceClassId: 'small' });

    const resumed = await patch(id, { state: 'running', resourceClassId: 'roomy' });
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ status: 'starting', resourceClassId: 'roomy', diskStorageGb: 20 });
    const back = await until(id, 'running');
    expect(back.resourceClassId).toBe('roomy');
    expect(await programSees(id)).toEqual(expect.arrayContaining(['notes.txt', 'results.csv']));
    expect(readFileSync(join(work(id), 'results.csv'), 'utf8')).toBe('a,b\n1,2\n');
  });

  it('keeps its files when the sessions service is killed between hibernating and resuming', async () => {
    writeFileSync(join(work(id), 'model.bin'), 'weights');
    expect((await patch(id, { state: 'hibernated' })).status).toBe(200);
    // Killed at once: the hibernation is wanted, maybe not done.
    await p.services.sessions!.kill('SIGKILL');
    await p.services.sessions!.start();
    await until(id, 'hibernated');
    expect(readFileSync(join(work(id), 'model.bin'), 'utf8')).toBe('weights');

    // And killed again while hibernated: the resume after the restart finds every file.
    await p.services.sessions!.kill('SIGKILL');
    await p.services.sessions!.start();
    const resumed = await patch(id, { state: 'running' });
    expect(resumed.status).toBe(200);
    // Resumed before: this resume is estimated from the last one of its launcher.
    expect(resumed.body.launchEstimate).toMatchObject({ basedOn: 'resume', steps: expect.objectContaining({ resuming: expect.any(Number) }) });
    expect(Date.parse(resumed.body.launchEstimate.expectedReadyAt)).toBeGreaterThan(Date.parse(resumed.body.launchEstimate.lastReadyAt));
    await until(id, 'running');
    expect(await programSees(id)).toEqual(expect.arrayContaining(['notes.txt', 'results.csv', 'model.bin']));
  });

  it('out of quota names the caller’s own sessions that hold the pool’s resources', async () => {
    const one = await call(`${p.api}/resource-pools`, {
      method: 'POST',
      token: admin,
      body: { name: 'One', public: true, quota: { cpu: 1, memoryGb: 1, gpu: 0 }, classes: [{ id: 'one', name: 'One', cpu: 1, memoryGb: 1, gpu: 0 }] },
    });
    expect(one.status).toBe(201);
    const make = async (name: string) =>
      (await call(`${p.api}/projects/931/launchers`, {
        method: 'POST',
        token: dana,
        body: { name, kind: 'session', resourceClassId: 'one', environment: { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: [process.execPath], args: [PROGRAM] } },
      })).body.id as string;
    const [first, second] = [await make('Analysis'), await make('Report')];
    const held = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: first } });
    expect(held.status).toBe(201);
    const refused = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: second } });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('QUOTA_EXCEEDED');
    expect(refused.body.detail).toMatch(
      /^resource pool "One" has 0 CPU, 0 GB memory and 0 GPU left, but class "One" needs 1 CPU, 1 GB memory and 0 GPU: your sessions holding its resources are "Analysis" \((starting|running), 1 CPU, 1 GB\); hibernate or delete one of them, or choose a smaller class$/,
    );
    expect((await call(`${p.api}/sessions/${held.body.id}`, { method: 'DELETE', token: dana })).status).toBe(204);
  });

  it('estimates a launch from the last one of its launcher, in the status and on the stream', async () => {
    expect((await call(`${p.api}/projects/931/members/erin`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
    const erin = await p.token('erin');
    // dana's launch of this launcher was hibernated before it was ready (her resumes are resumes): no launch is known yet.
    const first = await call(`${p.api}/sessions`, { method: 'POST', token: erin, body: { launcherId } });
    expect(first.status).toBe(201);
    expect(first.body.launchEstimate).toBeNull();
    await waitFor('running', async () => (await call(`${p.api}/sessions/${first.body.id}`, { token: erin })).body.status === 'running', 60_000, 200);
    expect((await call(`${p.api}/sessions/${first.body.id}`, { method: 'DELETE', token: erin })).status).toBe(204);
    await waitFor('the session to be gone', async () => (await call(`${p.api}/sessions/${first.body.id}`, { token: erin })).status === 404, 30_000);

    const res = await call(`${p.api}/sessions`, { method: 'POST', token: erin, body: { launcherId } });
    expect(res.status).toBe(201);
    // That launch took its program's 4 s delay, at least, to start.
    expect(res.body.launchEstimate).toMatchObject({ basedOn: 'launch', steps: expect.objectContaining({ queued: expect.any(Number), preparing: expect.any(Number), starting: expect.any(Number) }) });
    expect(res.body.launchEstimate.steps.starting).toBeGreaterThanOrEqual(4);
    const { events } = await readSse(`${p.api}/sessions/${res.body.id}/events`, { authorization: `Bearer ${erin}` }, (es) => es.some((e) => e.data.phase === 'ready'), 60_000);
    const starting = events.find((e) => e.data.phase === 'starting');
    expect(starting?.data.message).toMatch(/; the last launch of this launcher spent \d+(\.\d)? s on this step \(\d+(\.\d)? s in all\)$/);
    // Running: no estimate any more.
    const running = await waitFor('running', async () => {
      const s = (await call(`${p.api}/sessions/${res.body.id}`, { token: erin })).body;
      return s.status === 'running' ? s : undefined;
    });
    expect(running.launchEstimate).toBeNull();
  });
});
