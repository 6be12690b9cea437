import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signCaller } from '@launchpad/contracts';
import { killWorkloads, type RunningService, startService, waitFor } from '../tools/testing/harness.js';
import { appProgramEnvironment, quickAppsEnv } from '../tools/testing/programs/apps.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { appOrigin, originFetch } from '../tools/testing/origins.js';
import { devSigningKey } from '../tools/dev/dev-key.js';
import { echoed } from '../tools/testing/programs/echoed.js';

/** Two replicas of the apps service: both activators serve and report, one scaler decides, and the other takes over. */
describe('two replicas of the apps service', () => {
  let p: TestPlatform;
  let dataDir: string;
  let first: RunningService;
  let second: RunningService;
  /** A gateway that knows both activators (APPS_ACTIVATOR_URL with two URLs). */
  let gateway: RunningService;
  let dana: string;
  let path: string;
  let slug: string;
  let launcherId: string;
  const env: Record<string, string> = {};

  const leaderMetric = async (service: RunningService) => {
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    return Number(/^launchpad_apps_scaler_leader (\d)/m.exec(metrics)?.[1]);
  };
  const decisions = async (service: RunningService) => {
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    return [...metrics.matchAll(/^launchpad_app_scaler_decisions_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  const status = async () => (await call(`${p.api}/apps/${launcherId}`, { token: dana })).body;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-apps-leader-'));
    Object.assign(env, quickAppsEnv(dataDir, { LEADER_ELECTION_INTERVAL_MS: '300' }));
    p = await startPlatform({ apps: env }, { services: ['apps'] });
    first = p.services.apps!;
    second = await startService('apps', { DATABASE_URL: p.db.serviceUrl('apps'), ...p.nats.serviceEnv('apps'), APPS_CALLER_SECRET: p.appsCallerSecret, ALLOW_FILE_REPOSITORIES: 'true', ...env });
    gateway = await startService('gateway', {
      ...p.nats.serviceEnv('gateway'),
      AUTH_DEV_SIGNING_KEY: devSigningKey(),
      APPS_CALLER_SECRET: p.appsCallerSecret,
      APPS_ACTIVATOR_URL: `${first.url},${second.url}/`,
    });
    const admin = await p.token('root', true);
    dana = await p.token('dana');
    expect((await call(`${p.api}/projects/801`, { method: 'PUT', token: admin, body: { path: 'lab/shared', name: 'Shared', visibility: 'public' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/801/members/dana`, { method: 'PUT', token: admin, body: { role: 'owner' } })).status).toBe(200);
    const launcher = await call(`${p.api}/projects/801/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'Board', kind: 'app', environment: appProgramEnvironment() },
    });
    launcherId = launcher.body.id;
    const activated = await call(`${p.api}/apps/${launcherId}/activate`, { method: 'POST', token: dana });
    expect(activated.status).toBe(200);
    slug = activated.body.slug;
    path = `/a/${slug}/`;
    // Two apps replicas and two gateways besides the platform: several processes to start on a busy machine.
  }, 180_000);

  afterAll(async () => {
    if (process.env.SHOW_LOGS) console.log(first.logs().slice(-6000), second.logs().slice(-6000));
    await gateway?.kill();
    await second?.kill();
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  let leader: RunningService;
  let follower: RunningService;
  /** Straight to one activator, as the gateway sends it: signed (anonymous), for exactly this request. */
  const direct = (activator: RunningService, query = '') =>
    fetch(`${activator.url}${path}${query}`, { headers: signCaller(p.appsCallerSecret, null, 'GET', `${path}${query}`) });

  it('has exactly one scaler leader', async () => {
    const [a, b] = await waitFor('one leader', async () => {
      const both = [await leaderMetric(first), await leaderMetric(second)];
      return both[0]! + both[1]! === 1 ? both : undefined;
    });
    [leader, follower] = a === 1 ? [first, second] : [second, first];
    expect([a, b].sort()).toEqual([0, 1]);
  });

  it('serves the app through both activators, and only the leader decides its scale', async () => {
    // A cold start through the follower's activator: its wake reaches the leader's scaler.
    const viaFollower = await direct(follower);
    expect(viaFollower.status).toBe(200);
    expect(viaFollower.headers.get('x-launchpad-activation')).toMatch(/^cold-start/);
    const viaLeader = await direct(leader);
    expect(viaLeader.status).toBe(200);
    expect((await echoed(viaLeader)).pid).toBe((await echoed(viaFollower)).pid);
    // Load through the follower alone is seen by the leader's scaler (reported every 250 ms), which scales up.
    const burst = Array.from({ length: 60 }, () => direct(follower, '?delay=1500').then((r) => r.status));
    await waitFor('the leader to scale up for load it only heard of', async () => (await status()).desiredReplicas > 1);
    expect(await Promise.all(burst)).toEqual(Array(60).fill(200));
    expect(await decisions(leader)).toBeGreaterThan(0);
    expect(await decisions(follower)).toBe(0);
  });

  it('moves the scaler to the other replica when the leader is killed, and the app keeps working', async () => {
    expect((await originFetch(`${appOrigin(gateway.port, slug)}/`)).status).toBe(200);
    await leader.kill('SIGKILL');
    // A gateway that knows both activators passes every share link to the one still running.
    const viaGateway = await Promise.all(Array.from({ length: 10 }, () => originFetch(`${appOrigin(gateway.port, slug)}/`).then((r) => r.status)));
    expect(viaGateway).toEqual(Array(10).fill(200));
    expect(gateway.logs()).toMatch(/apps activator \S+ is not answering/);
    await waitFor('the other replica to lead', async () => (await leaderMetric(follower)) === 1);
    // The replicas the dead leader started keep serving, now watched by the new leader.
    expect((await direct(follower)).status).toBe(200);
    // The new leader scales the app to zero once idle, and wakes it for the next request.
    await waitFor('the new leader to scale the app to zero', async () => {
      const s = await status();
      return s.desiredReplicas === 0 && s.readyReplicas === 0;
    }, 30_000);
    const woken = await direct(follower);
    expect(woken.status).toBe(200);
    expect(woken.headers.get('x-launchpad-activation')).toMatch(/^cold-start/);
    expect(await decisions(follower)).toBeGreaterThan(0);
  });
});
