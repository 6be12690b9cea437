import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWorkloads, ROOT, type RunningService, startService, waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');
const USERS = Array.from({ length: 8 }, (_, i) => `user${i}`);

/**
 * Colleagues who start and resume sessions of one launcher, in one pool, at the same moment,
 * through two replicas of the sessions service: launches and resumes take the same locks (the
 * launcher's copy, the project's, the pool's) and must never deadlock into an error.
 */
describe('many users launching and resuming in one pool at once', () => {
  let p: TestPlatform;
  let second: RunningService;
  let dataDir: string;
  const tokens = new Map<string, string>();
  let launcherA: string;
  let launcherB: string;
  /** Every answer the API gave, for the assertion that none was an error. */
  const answers: { what: string; status: number; body: unknown }[] = [];

  const api = async (what: string, user: string, path: string, method = 'GET', body?: unknown) => {
    const res = await call(`${p.api}${path}`, { method, token: tokens.get(user)!, ...(body !== undefined ? { body } : {}) });
    answers.push({ what: `${user} ${what}`, status: res.status, body: res.body });
    return res;
  };
  const errors = () => answers.filter((a) => a.status >= 300);
  const launch = (user: string, launcherId: string) => api(`launches ${launcherId}`, user, '/sessions', 'POST', { launcherId });
  const setState = (user: string, id: string, state: 'running' | 'hibernated') => api(`${state === 'running' ? 'resumes' : 'hibernates'} ${id}`, user, `/sessions/${id}`, 'PATCH', { state });
  const statusOf = async (user: string, id: string) => (await call(`${p.api}/sessions/${id}`, { token: tokens.get(user)! })).body?.status as string;
  const allSettled = (label: string, sessions: [string, string][], statuses: string[]) =>
    waitFor(label, async () => (await Promise.all(sessions.map(([u, id]) => statusOf(u, id)))).every((s) => statuses.includes(s)), 120_000, 250);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-sessions-concurrency-'));
    const sessionsEnv = { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '1000', LEADER_ELECTION_INTERVAL_MS: '500', DEFAULT_POOL_QUOTA_CPU: '64', DEFAULT_POOL_QUOTA_MEMORY_GB: '256', RPC_TIMEOUT_MS: '30000' };
    // Generous RPC deadlines: what is under test is locking, not how fast a busy test machine answers.
    p = await startPlatform({ sessions: sessionsEnv, gateway: { RPC_TIMEOUT_MS: '30000' } }, { services: ['sessions'] });
    // A second replica answering the same RPC queue group: two processes take the same locks.
    second = await startService('sessions', { DATABASE_URL: p.db.serviceUrl('sessions'), ...p.nats.serviceEnv('sessions'), ALLOW_FILE_REPOSITORIES: 'true', ...sessionsEnv });
    const admin = await p.token('root', true);
    for (const u of USERS) tokens.set(u, await p.token(u));
    expect((await call(`${p.api}/projects/901`, { method: 'PUT', token: admin, body: { path: 'lab/together', name: 'Together', visibility: 'private' } })).status).toBe(200);
    for (const u of USERS) expect((await call(`${p.api}/projects/901/members/${u}`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
    const environment = { kind: 'custom', image: 'ghcr.io/lab/notebook:1', port: 8888, defaultUrl: '/', command: [process.execPath], args: [PROGRAM] };
    for (const name of ['Notebook A', 'Notebook B']) {
      const res = await call(`${p.api}/projects/901/launchers`, { method: 'POST', token: tokens.get('user0')!, body: { name, kind: 'session', environment } });
      expect(res.status).toBe(201);
      if (name.endsWith('A')) launcherA = res.body.id;
      else launcherB = res.body.id;
    }
  }, 300_000);

  afterAll(async () => {
    if (process.env.SHOW_LOGS) console.log(p.services.sessions?.logs().slice(-8000), second?.logs().slice(-8000));
    await second?.kill();
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers every launch, hibernation and resume with success, never an error', async () => {
    const [early, late] = [USERS.slice(0, 4), USERS.slice(4)];
    const sessionOf = new Map<string, string>();
    // Round 1: half the team starts launcher A, and hibernates it again.
    const started = await Promise.all(early.map((u) => launch(u, launcherA)));
    early.forEach((u, i) => {
      expect(started[i]!.status).toBe(201);
      sessionOf.set(u, started[i]!.body.id);
    });
    await Promise.all(early.map((u) => setState(u, sessionOf.get(u)!, 'hibernated')));
    await allSettled('the first sessions to hibernate', early.map((u) => [u, sessionOf.get(u)!]), ['hibernated']);
    // Round 2: at the same moment, they resume and the other half starts the same launcher.
    const [resumed, launched] = await Promise.all([
      Promise.all(early.map((u) => setState(u, sessionOf.get(u)!, 'running'))),
      Promise.all(late.map((u) => launch(u, launcherA))),
    ]);
    expect(errors()).toEqual([]);
    expect([...resumed, ...launched].map((r) => r.status).sort()).toEqual([...Array(4).fill(200), ...Array(4).fill(201)]);
    late.forEach((u, i) => sessionOf.set(u, launched[i]!.body.id));
    // Round 3: everyone hibernates, then everyone resumes A and starts B at once, twice over.
    for (let round = 0; round < 2; round++) {
      await Promise.all(USERS.map((u) => setState(u, sessionOf.get(u)!, 'hibernated')));
      await allSettled('every session of A to hibernate', USERS.map((u) => [u, sessionOf.get(u)!]), ['hibernated']);
      const burst = await Promise.all(USERS.flatMap((u) => [setState(u, sessionOf.get(u)!, 'running'), ...(round === 0 ? [launch(u, launcherB)] : [])]));
      expect(errors()).toEqual([]);
      for (const res of burst) expect(res.status).toBeLessThan(300);
    }
    // Each user has exactly one session per launcher.
    const mine = await Promise.all(USERS.map(async (u) => (await api('lists', u, '/sessions')).body.items as { launcherId: string }[]));
    for (const list of mine) expect(list.map((s) => s.launcherId).sort()).toEqual([launcherA, launcherB].sort());
    // Not even a deadlock that a retry hid: the use cases take their locks in one order.
    expect(`${p.services.sessions!.logs()}${second.logs()}`).not.toMatch(/40P01|deadlock detected/);
  }, 600_000);
});
