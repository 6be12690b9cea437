import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWorkloads, ROOT, waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { readSse } from '../tools/testing/sse.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');

/** A pool's own idle threshold, the warning before hibernation on the stream, and the snooze. */
describe('pausing sessions', () => {
  let p: TestPlatform;
  let dataDir: string;
  let admin: string, dana: string;
  let launcherId: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-pause-'));
    p = await startPlatform(
      { sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '1000', LEADER_ELECTION_INTERVAL_MS: '500', SESSION_HIBERNATION_WARNING_MS: '6000' } },
      { services: ['sessions'] },
    );
    [admin, dana] = await Promise.all([p.token('root', true), p.token('dana')]);
    expect((await call(`${p.api}/projects/901`, { method: 'PUT', token: admin, body: { path: 'lab/pause', name: 'Pause', visibility: 'private' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/901/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
    const pool = await call(`${p.api}/resource-pools`, {
      method: 'POST',
      token: admin,
      body: { name: 'Short', public: true, idleThresholdS: 10, hibernationThresholdS: 0, quota: { cpu: 4, memoryGb: 8, gpu: 0 }, classes: [{ id: 'short', name: 'Short', cpu: 0.5, memoryGb: 0.5, gpu: 0, isDefault: true }] },
    });
    expect(pool.status).toBe(201);
    expect(pool.body).toMatchObject({ idleThresholdS: 10, hibernationThresholdS: 0 });
    const launcher = await call(`${p.api}/projects/901/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'Notebook', kind: 'session', resourceClassId: 'short', environment: { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: [process.execPath], args: [PROGRAM] } },
    });
    expect(launcher.status).toBe(201);
    launcherId = launcher.body.id;
  });

  afterAll(async () => {
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses an idle time beyond the pool’s bounds, naming the pool', async () => {
    for (const idleThresholdS of [11, 0]) {
      const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId, idleThresholdS } });
      expect(res.status).toBe(400);
      expect(res.body.detail).toMatch(/idleThresholdS .* is not allowed in resource pool "Short": its sessions are hibernated after at most 10 s idle/);
    }
    expect((await call(`${p.api}/sessions/00000000-0000-4000-8000-000000000000`, { method: 'PATCH', token: dana, body: { lastInteraction: 'yesterday' } })).status).toBe(400);
  });

  it('warns on the stream before hibernating, a snooze moves willHibernateAt, and an idle session is hibernated', async () => {
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId } });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const running = await waitFor('running', async () => {
      const s = await call(`${p.api}/sessions/${id}`, { token: dana });
      return s.body.status === 'running' ? s.body : undefined;
    });
    expect(running).toMatchObject({ idleThresholdS: 10, hibernationThresholdS: 0 });
    expect(running.idleReason).toMatch(/^traffic: /);
    const { events } = await readSse(`${p.api}/sessions/${id}/events`, { authorization: `Bearer ${dana}` }, (es) => es.some((e) => /will hibernate at/.test(e.data.message)), 30_000);
    const warning = events.find((e) => /will hibernate at/.test(e.data.message))!;
    const before = (await call(`${p.api}/sessions/${id}`, { token: dana })).body;
    expect(warning.data.message).toContain(`will hibernate at ${before.willHibernateAt}`);
    expect(before.status).toBe('running');
    const snoozed = await call(`${p.api}/sessions/${id}`, { method: 'PATCH', token: dana, body: { lastInteraction: 'now' } });
    expect(snoozed.status).toBe(200);
    expect(Date.parse(snoozed.body.willHibernateAt)).toBeGreaterThan(Date.parse(before.willHibernateAt));
    // Left alone, it is warned about again, then hibernated, its files kept.
    const hibernated = await waitFor(
      'hibernated for being idle',
      async () => {
        const s = await call(`${p.api}/sessions/${id}`, { token: dana });
        return s.body.status === 'hibernated' ? s.body : undefined;
      },
      60_000,
      250,
    );
    expect(hibernated.hibernationReason).toBe('idle for more than 10 seconds');
    expect(hibernated.willDeleteAt).toBeNull();
    const all = await readSse(`${p.api}/sessions/${id}/events`, { authorization: `Bearer ${dana}` }, (es) => es.some((e) => e.data.phase === 'hibernated'));
    expect(all.events.filter((e) => /will hibernate at/.test(e.data.message)).length).toBe(2);
  });

  it('takes a launcher’s own thresholds within the pool’s, validated by the API, a launch’s idle time over them', async () => {
    const environment = { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: [process.execPath], args: [PROGRAM] };
    for (const bad of [{ idleThresholdS: -1 }, { idleThresholdS: 1.5 }, { hibernationThresholdS: 'soon' }]) {
      const refused = await call(`${p.api}/projects/901/launchers`, { method: 'POST', token: dana, body: { name: 'Bad', kind: 'session', resourceClassId: 'short', environment, ...bad } });
      expect(refused.status).toBe(400);
      expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    const created = await call(`${p.api}/projects/901/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'Own times', kind: 'session', resourceClassId: 'short', environment, idleThresholdS: 8, hibernationThresholdS: 3600 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ idleThresholdS: 8, hibernationThresholdS: 3600 });
    const own = created.body.id as string;
    const started = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: own } });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ idleThresholdS: 8, hibernationThresholdS: 3600 });
    expect((await call(`${p.api}/sessions/${started.body.id}`, { method: 'DELETE', token: dana })).status).toBe(204);
    await waitFor('the session to be gone', async () => (await call(`${p.api}/sessions/${started.body.id}`, { token: dana })).status === 404, 30_000);

    // Longer than the pool allows: refused at launch, naming the launcher's setting; a launch's own idle time wins.
    const patched = await call(`${p.api}/launchers/${own}`, { method: 'PATCH', token: dana, body: { idleThresholdS: 20 } });
    expect(patched.status).toBe(200);
    expect(patched.body.idleThresholdS).toBe(20);
    const tooLong = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: own } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.detail).toBe(`the launcher's idleThresholdS 20 is not allowed in resource pool "Short": its sessions are hibernated after at most 10 s idle (ask for 1 to 10)`);
    const overridden = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: own, idleThresholdS: 5 } });
    expect(overridden.status).toBe(201);
    expect(overridden.body).toMatchObject({ idleThresholdS: 5, hibernationThresholdS: 3600 });
    expect((await call(`${p.api}/sessions/${overridden.body.id}`, { method: 'DELETE', token: dana })).status).toBe(204);
    await waitFor('the session to be gone', async () => (await call(`${p.api}/sessions/${overridden.body.id}`, { token: dana })).status === 404, 30_000);

    // Back to the pool's.
    const cleared = await call(`${p.api}/launchers/${own}`, { method: 'PATCH', token: dana, body: { idleThresholdS: null, hibernationThresholdS: null } });
    expect(cleared.body).toMatchObject({ idleThresholdS: null, hibernationThresholdS: null });
    const pools = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: own } });
    expect(pools.status).toBe(201);
    expect(pools.body).toMatchObject({ idleThresholdS: 10, hibernationThresholdS: 0 });
    expect((await call(`${p.api}/sessions/${pools.body.id}`, { method: 'DELETE', token: dana })).status).toBe(204);
  });
});
