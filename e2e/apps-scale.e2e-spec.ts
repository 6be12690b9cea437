import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWorkloads, waitFor } from '../tools/testing/harness.js';
import { appProgramEnvironment, quickAppsEnv } from '../tools/testing/programs/apps.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { originFetch } from '../tools/testing/origins.js';
import { echoed } from '../tools/testing/programs/echoed.js';

/** A burst at an app with no replica: every request answered, by no more replicas than the target and the cap allow. */
describe('apps under a burst', () => {
  let p: TestPlatform;
  let dataDir: string;
  let dana: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-apps-scale-'));
    p = await startPlatform({ apps: quickAppsEnv(dataDir, { APP_STABLE_WINDOW_MS: '3000' }) }, { services: ['apps'] });
    const admin = await p.token('root', true);
    dana = await p.token('dana');
    expect((await call(`${p.api}/projects/701`, { method: 'PUT', token: admin, body: { path: 'lab/popular', name: 'Popular', visibility: 'public' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/701/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
  });

  /** An app launcher of the project that runs the stand-in app. */
  const appLauncher = async (name: string) => {
    const launcher = await call(`${p.api}/projects/701/launchers`, { method: 'POST', token: dana, body: { name, kind: 'app', environment: appProgramEnvironment() } });
    expect(launcher.status).toBe(201);
    return launcher.body.id as string;
  };

  afterAll(async () => {
    if (process.env.SHOW_LOGS) console.log(p.services.apps?.logs().slice(-10000));
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 200 concurrent requests to an app at zero replicas, none dropped, with at most min(ceil(200 / target), max) replicas', async () => {
    const id = await appLauncher('Model endpoint');
    const target = 40;
    const max = 4;
    const activated = await call(`${p.api}/apps/${id}/activate`, { method: 'POST', token: dana, body: { targetConcurrency: target, maxReplicas: max } });
    expect(activated.body).toMatchObject({ status: 'active', desiredReplicas: 0 });
    // Held open for a while each, so that the burst is still there when the scaler looks.
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const res = await originFetch(`${activated.body.url}work/${i}?delay=1500`);
        return { status: res.status, woke: res.headers.get('x-launchpad-activation'), body: res.status === 200 ? await echoed(res) : { failed: await res.text() } };
      }),
    );
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.map((a) => ('url' in a.body ? a.body.url : a.body.failed)).sort()).toEqual(Array.from({ length: 200 }, (_, i) => `/work/${i}?delay=1500`).sort());
    expect(answers.filter((a) => a.woke !== null).length).toBeGreaterThan(0);
    const cap = Math.min(Math.ceil(200 / target), max);
    const replicasThatExisted = readdirSync(dataDir).filter((d) => d.startsWith(id));
    expect(replicasThatExisted.length).toBeGreaterThanOrEqual(1);
    expect(replicasThatExisted.length).toBeLessThanOrEqual(cap);
    expect(new Set(answers.map((a) => ('pid' in a.body ? a.body.pid : a.body.failed))).size).toBeLessThanOrEqual(cap);
    const app = (await call(`${p.api}/apps/${id}`, { token: dana })).body;
    expect(app.desiredReplicas).toBeLessThanOrEqual(cap);
    // And back to zero once the burst is over.
    await waitFor('the app to scale back to zero', async () => {
      const s = (await call(`${p.api}/apps/${id}`, { token: dana })).body;
      return s.desiredReplicas === 0 && s.readyReplicas === 0;
    }, 30_000);
    expect(readdirSync(dataDir).filter((d) => d.startsWith(id)).length).toBeLessThanOrEqual(cap);
  });

  it('lets the requests in flight on a replica it scales away finish before it stops the replica', async () => {
    const id = await appLauncher('Slow reports');
    const activated = await call(`${p.api}/apps/${id}/activate`, { method: 'POST', token: dana, body: { minReplicas: 2, maxReplicas: 2 } });
    const status = async () => (await call(`${p.api}/apps/${id}`, { token: dana })).body;
    await waitFor('two ready replicas', async () => (await status()).readyReplicas === 2);
    // One long request on each replica (least outstanding spreads them): longer than APP_DRAIN_MS.
    const slow = [1, 2].map(async (n) => {
      const res = await originFetch(`${activated.body.url}report/${n}?delay=4000`);
      return { status: res.status, body: res.status === 200 ? await echoed(res) : { failed: await res.text() } };
    });
    await waitFor('both requests to reach a replica', async () => {
      const lines: string[] = (await call(`${p.api}/apps/${id}/logs?lines=50`, { token: dana })).body.lines;
      return ['r1', 'r2'].every((r) => lines.some((l) => l.startsWith(`[${r}] GET /report/`) && l.includes('delay=4000')));
    });
    // One replica now: r2 leaves the rotation while its request still runs.
    const scaled = await call(`${p.api}/apps/${id}/activate`, { method: 'POST', token: dana, body: { minReplicas: 1, maxReplicas: 1 } });
    expect(scaled.body).toMatchObject({ desiredReplicas: 1 });
    const answers = await Promise.all(slow);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(new Set(answers.map((a) => ('pid' in a.body ? a.body.pid : a.body.failed))).size).toBe(2);
    // And then it is stopped.
    await waitFor('r2 to stop', async () => {
      const s = await status();
      return s.readyReplicas === 1 && s.replicas.some((r: { id: string; phase: string }) => r.id.endsWith('-r2') && r.phase === 'stopped');
    });
  });
});
