import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWorkloads, ROOT, waitFor } from '../tools/testing/harness.js';
import { originFetch } from '../tools/testing/origins.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { readSse } from '../tools/testing/sse.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');

/**
 * Users who do not trust each other share pools, projects and gateways: none can take a whole
 * pool, fill a project with launchers, or hold the gateway's streams, and each refusal says
 * which limit it met and what to do.
 */
describe('per-user limits', () => {
  let p: TestPlatform;
  let dataDir: string;
  let admin: string, dana: string, eve: string;
  const launchers: string[] = [];
  let poolId: string;
  const sessionsOfDana: string[] = [];

  const launcher = async (projectId: string, name: string, token = dana) =>
    call(`${p.api}/projects/${projectId}/launchers`, {
      method: 'POST',
      token,
      body: { name, kind: 'session', environment: { kind: 'custom', image: 'ghcr.io/lab/notebook:1', port: 8888, defaultUrl: '/', command: [process.execPath], args: [PROGRAM] } },
    });
  const launch = (launcherId: string, token = dana) => call(`${p.api}/sessions`, { method: 'POST', token, body: { launcherId, resourceClassId: 'lab-small' } });
  const settled = (id: string, token: string, statuses: string[]) =>
    waitFor(`session ${id} to be ${statuses.join(' or ')}`, async () => {
      const res = await call(`${p.api}/sessions/${id}`, { token });
      return statuses.includes(res.body?.status) ? res.body : undefined;
    });
  /** A server-sent event stream held open until `close()`. */
  const holdStream = async (url: string, token: string) => {
    const abort = new AbortController();
    const res = await originFetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` }, signal: abort.signal });
    return { status: res.status, close: () => abort.abort() };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-user-limits-'));
    p = await startPlatform(
      {
        sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '1000', LEADER_ELECTION_INTERVAL_MS: '500', SESSIONS_PER_USER_PER_POOL: '3' },
        environments: { LAUNCHERS_PER_PROJECT: '4' },
        gateway: { SSE_STREAMS_PER_USER: '2' },
      },
      { services: ['sessions'] },
    );
    [admin, dana, eve] = await Promise.all([p.token('root', true), p.token('dana'), p.token('eve')]);
    for (const [id, path] of [['501', 'lab/limits'], ['502', 'lab/many']]) {
      expect((await call(`${p.api}/projects/${id}`, { method: 'PUT', token: admin, body: { path, name: path, visibility: 'private' } })).status).toBe(200);
      for (const user of ['dana', 'eve']) expect((await call(`${p.api}/projects/${id}/members/${user}`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
    }
    for (const name of ['A', 'B', 'C']) {
      const res = await launcher('501', `Notebook ${name}`);
      expect(res.status).toBe(201);
      launchers.push(res.body.id);
    }
    const pool = await call(`${p.api}/resource-pools`, {
      method: 'POST',
      token: admin,
      body: { name: 'Lab', public: true, maxSessionsPerUser: 2, quota: { cpu: 16, memoryGb: 64, gpu: 0 }, classes: [{ id: 'lab-small', name: 'Lab small', cpu: 1, memoryGb: 1, gpu: 0, isDefault: true }] },
    });
    expect(pool.status).toBe(201);
    poolId = pool.body.id;
  }, 120_000);

  afterAll(async () => {
    if (process.env.SHOW_LOGS) console.log(p?.services.sessions?.logs().slice(-6000), p?.gateway.logs().slice(-4000));
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("shows a pool's own limit and the one in force, and refuses a limit below 1", async () => {
    const pool = await call(`${p.api}/resource-pools/${poolId}`, { token: dana });
    expect(pool.body).toMatchObject({ maxSessionsPerUser: 2, sessionsPerUserLimit: 2 });
    const zero = await call(`${p.api}/resource-pools/${poolId}`, { method: 'PATCH', token: admin, body: { maxSessionsPerUser: 0 } });
    expect(zero.status).toBe(400);
    expect(zero.headers.get('content-type')).toMatch(/problem\+json/);
    const pools = await call(`${p.api}/resource-pools`, { token: dana });
    // The seeded pool sets none: the service's SESSIONS_PER_USER_PER_POOL.
    expect(pools.body.items.find((x: { name: string }) => x.name === 'Public')).toMatchObject({ maxSessionsPerUser: null, sessionsPerUserLimit: 3 });
  });

  it('lets one user start no more sessions in a pool than it allows, however many launches race, and says what to do', async () => {
    const answers = await Promise.all(launchers.map((id) => launch(id)));
    const created = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status !== 201);
    expect(created).toHaveLength(2);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.status).toBe(409);
    expect(refused[0]!.headers.get('content-type')).toMatch(/problem\+json/);
    expect(refused[0]!.body).toMatchObject({ code: 'SESSION_LIMIT_REACHED', status: 409 });
    expect(refused[0]!.body.detail).toBe(
      'you already have 2 sessions starting or running in resource pool "Lab", the most one user may have there (2): hibernate or delete one of them first, or choose a class in another pool',
    );
    sessionsOfDana.push(...created.map((a) => a.body.id as string));
    // The limit is per user: a colleague still starts theirs in the same pool.
    expect((await launch(launchers[0]!, eve)).status).toBe(201);
  });

  it('counts a resume like a launch, and frees a place when a session is hibernated', async () => {
    const first = sessionsOfDana[0]!;
    await settled(first, dana, ['running']);
    expect((await call(`${p.api}/sessions/${first}`, { method: 'PATCH', token: dana, body: { state: 'hibernated' } })).status).toBe(200);
    await settled(first, dana, ['hibernated']);
    const startedLauncherIds = new Set((await call(`${p.api}/sessions`, { token: dana })).body.items.map((s: { launcherId: string }) => s.launcherId));
    const free = launchers.find((id) => !startedLauncherIds.has(id))!;
    const now = await launch(free);
    expect(now.status).toBe(201);
    const resume = await call(`${p.api}/sessions/${first}`, { method: 'PATCH', token: dana, body: { state: 'running' } });
    expect(resume.status).toBe(409);
    expect(resume.body.code).toBe('SESSION_LIMIT_REACHED');
    // The administrator lifts the pool's own limit: the service's default (3) holds, and the resume goes through.
    expect((await call(`${p.api}/resource-pools/${poolId}`, { method: 'PATCH', token: admin, body: { maxSessionsPerUser: null } })).body).toMatchObject({ maxSessionsPerUser: null, sessionsPerUserLimit: 3 });
    expect((await call(`${p.api}/sessions/${first}`, { method: 'PATCH', token: dana, body: { state: 'running' } })).status).toBe(200);
  });

  it('keeps a project to LAUNCHERS_PER_PROJECT launchers, however many are created at once', async () => {
    const answers = await Promise.all(['1', '2', '3', '4', '5', '6'].map((n) => launcher('502', `Many ${n}`, n < '4' ? dana : eve)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(4);
    const refused = answers.filter((a) => a.status !== 201);
    expect(refused.map((a) => a.status)).toEqual([409, 409]);
    expect(refused[0]!.body).toMatchObject({ code: 'LAUNCHER_LIMIT_REACHED' });
    expect(refused[0]!.body.detail).toBe(
      'project "lab/many" already has 4 launchers, the most a project may have here (4, LAUNCHERS_PER_PROJECT): delete one it no longer needs, or edit one instead',
    );
    const one = answers.find((a) => a.status === 201)!.body.id;
    expect((await call(`${p.api}/launchers/${one}`, { method: 'DELETE', token: admin })).status).toBe(204);
    expect((await launcher('502', 'Many again')).status).toBe(201);
  });

  it("holds a user to SSE_STREAMS_PER_USER open streams (429, Retry-After), others' streams apart, and frees a place when one closes", async () => {
    const url = `${p.api}/sessions/${sessionsOfDana[0]}/events`;
    const open = [await holdStream(url, dana), await holdStream(`${p.api}/sessions/${sessionsOfDana[1]}/events`, dana)];
    expect(open.map((s) => s.status)).toEqual([200, 200]);
    const third = await call(url, { token: dana, headers: { accept: 'text/event-stream' } });
    expect(third.status).toBe(429);
    expect(third.headers.get('content-type')).toMatch(/problem\+json/);
    expect(third.headers.get('retry-after')).toBe('10');
    expect(third.body).toMatchObject({ code: 'TOO_MANY_STREAMS' });
    expect(third.body.detail).toMatch(/you already have 2 event streams open, the most one user may hold \(2, SSE_STREAMS_PER_USER\)/);
    // Another user's streams are theirs: eve's session is hers to follow.
    const eves = (await call(`${p.api}/sessions`, { token: eve })).body.items[0].id;
    const hers = await holdStream(`${p.api}/sessions/${eves}/events`, eve);
    expect(hers.status).toBe(200);
    hers.close();
    // A refused stream took no place; a closed one gives its place back.
    open[0]!.close();
    const again = await waitFor('a place among dana’s streams', async () => {
      const s = await holdStream(url, dana);
      if (s.status === 200) return s;
      s.close();
      return undefined;
    });
    again.close();
    open[1]!.close();
  });

  it('ends a stream, saying why, when the token that opened it expires', async () => {
    const shortLived = await p.token('dana', false, 3);
    const { status, events } = await readSse(`${p.api}/sessions/${sessionsOfDana[1]}/events`, { authorization: `Bearer ${shortLived}` }, (es) => es.some((e) => e.event === 'end'), 20_000);
    expect(status).toBe(200);
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { reason: 'token-expired', message: expect.stringMatching(/^the token that opened this stream expired at .*; sign in again and reconnect$/) } });
  });
});
