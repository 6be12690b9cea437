import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { isRunning, killWorkloads, ROOT, waitFor } from '../tools/testing/harness.js';
import { readStream } from '../tools/testing/streams.js';
import { makeRepository } from '../tools/testing/programs/make-repository.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { cookieFrom, originFetch, sessionOrigin } from '../tools/testing/origins.js';
import { readSse } from '../tools/testing/sse.js';
import { echoed } from '../tools/testing/programs/echoed.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');

/** Sessions launched through the gateway as a data scientist would, on the real process runtime. */
describe('sessions through the gateway', () => {
  let p: TestPlatform;
  let dataDir: string;
  let admin: string, dana: string, eve: string;
  let launcherId: string;
  const repo = makeRepository('analysis', { 'README.md': '# analysis\n' });

  const customLauncher = async (name: string, extra: Record<string, unknown> = {}, env: Record<string, string> = {}) => {
    const res = await call(`${p.api}/projects/301/launchers`, {
      method: 'POST',
      token: dana,
      body: {
        name,
        kind: 'session',
        environment: { kind: 'custom', image: 'ghcr.io/lab/notebook:1', port: 8888, defaultUrl: '/', command: [process.execPath], args: [PROGRAM], env, ...extra },
      },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const settled = (id: string, token: string, statuses: string[]) =>
    waitFor(`session ${id} to be ${statuses.join(' or ')}`, async () => {
      const res = await call(`${p.api}/sessions/${id}`, { token });
      return statuses.includes(res.body?.status) ? res.body : undefined;
    });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-sessions-'));
    p = await startPlatform(
      { sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '1000', LEADER_ELECTION_INTERVAL_MS: '500', DEFAULT_POOL_QUOTA_CPU: '3' } },
      { services: ['sessions'] },
    );
    [admin, dana, eve] = await Promise.all([p.token('root', true), p.token('dana'), p.token('eve')]);
    const project = await call(`${p.api}/projects/301`, {
      method: 'PUT',
      token: admin,
      body: { path: 'lab/analysis', name: 'Analysis', visibility: 'private', repositories: [{ url: repo.url }] },
    });
    expect(project.status).toBe(200);
    expect((await call(`${p.api}/projects/301/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
    launcherId = await customLauncher('Notebook');
  });

  afterAll(async () => {
    if (process.env.SHOW_LOGS) console.log(p.services.sessions?.logs().slice(-8000), p.gateway.logs().slice(-4000));
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(join(repo.dir, '..'), { recursive: true, force: true });
  });

  let sessionId: string;

  // A session being deleted holds its pool's resources until it is gone: wait, so that the quota
  // test below counts only what is still running.
  const deleteAndWait = async (id: string) => {
    expect((await call(`${p.api}/sessions/${id}`, { method: 'DELETE', token: dana })).status).toBe(204);
    await waitFor('the session to be gone', async () => (await call(`${p.api}/sessions/${id}`, { token: dana })).status === 404);
  };

  it('starts a session (201), and answers a second start with the same one (200)', async () => {
    const first = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'starting', launcherId, projectId: '301', userId: 'dana', resourceClassId: 'small' });
    // Its own origin: <id>.sessions.localhost with the gateway's port, served at the root.
    expect(first.body.path).toBe('/');
    expect(first.body.url).toBe(`${sessionOrigin(p.gateway.port, first.body.id)}/`);
    sessionId = first.body.id;
    const again = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(sessionId);
  });

  it('streams each launch step as server-sent events until it is ready', async () => {
    const { status, contentType, events } = await readSse(`${p.api}/sessions/${sessionId}/events`, { authorization: `Bearer ${dana}` }, (es) =>
      es.some((e) => e.data.phase === 'ready' || e.data.phase === 'failed'),
    );
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/event-stream/);
    const phases = events.map((e) => e.data.phase);
    expect(phases[0]).toBe('queued');
    expect(phases).toEqual(expect.arrayContaining(['queued', 'preparing', 'starting', 'ready']));
    expect(phases.indexOf('preparing')).toBeLessThan(phases.indexOf('ready'));
    expect(events.map((e) => Number(e.id))).toEqual([...events.map((e) => Number(e.id))].sort((a, b) => a - b));
    const running = await settled(sessionId, dana, ['running']);
    expect(running.willHibernateAt).not.toBeNull();
    expect(running.hibernationReason).toMatch(/hibernated after .* without use/);
  });

  it('lists only the caller’s own sessions, and hides them from everyone else', async () => {
    expect((await call(`${p.api}/sessions`, { token: dana })).body.items.map((s: { id: string }) => s.id)).toEqual([sessionId]);
    expect((await call(`${p.api}/sessions`, { token: eve })).body.items).toEqual([]);
    const peek = await call(`${p.api}/sessions/${sessionId}`, { token: eve });
    expect(peek.status).toBe(404);
    expect(peek.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('proxies the owner to the session: a token once, a cookie after, repositories cloned into the work directory', async () => {
    const origin = sessionOrigin(p.gateway.port, sessionId);
    const open = await originFetch(`${origin}/?token=${dana}`, { redirect: 'manual' });
    expect(open.status).toBe(303);
    expect(open.headers.get('location')).toBe('/');
    expect(open.headers.get('referrer-policy')).toBe('no-referrer');
    // A link whose path starts with "//" is sent back into this origin, never to another host.
    const sneaky = await originFetch(`${origin}//evil.example/x?token=${dana}`, { redirect: 'manual' });
    expect(sneaky.status).toBe(303);
    expect(sneaky.headers.get('location')).toBe('/evil.example/x');
    const setCookie = open.headers.get('set-cookie')!;
    // Host-only (no Domain), the whole origin, and an opaque credential for this session: never the API token.
    expect(setCookie).toMatch(/^launchpad_session=v1\.[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(setCookie).not.toContain(dana);
    const cookie = cookieFrom(open);
    const page = await originFetch(`${origin}/api/contents?x=1`, {
      method: 'POST',
      headers: { cookie: `_xsrf=2|8ab=|x%7C; ${cookie}`, 'content-type': 'text/plain', origin, 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil.example' },
      body: 'print(1)',
    });
    expect(page.status).toBe(200);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const seen = await echoed(page);
    expect(seen.url).toBe('/api/contents?x=1');
    expect(seen.body).toBe('print(1)');
    expect(seen.files).toContain('analysis');
    expect(existsSync(join(seen.cwd, 'analysis', 'README.md'))).toBe(true);
    // The program is the user's code: it sees its own cookies, never the API token nor our credential,
    // and nothing a client claims about where it came from.
    expect(seen.headers.cookie).toBe('_xsrf=2|8ab=|x%7C');
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-forwarded-for']).toBeUndefined();
    expect(seen.headers['x-forwarded-host']).toBeUndefined();
    // The credential opens this session only: not the API (bearer tokens only), not as a bearer token.
    expect((await call(`${p.api}/sessions`, { headers: { cookie } })).status).toBe(401);
    expect((await call(`${p.api}/sessions`, { token: cookie.split('=')[1]! })).status).toBe(401);
    // A page of another origin cannot change anything in it, nor frame or fetch it, even with the cookie.
    const foreign = await originFetch(`${origin}/api/contents`, { method: 'POST', headers: { cookie, origin: 'http://evil.apps.localhost:8080', 'content-type': 'text/plain' }, body: 'x' });
    expect(foreign.status).toBe(403);
    const framed = await originFetch(`${origin}/`, { headers: { cookie, 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' } });
    expect(framed.status).toBe(403);
    const navigated = await originFetch(`${origin}/`, { headers: { cookie, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } });
    expect(navigated.status).toBe(200);
  });

  it('breaks off the answer of a program that breaks off, rather than ending it as if it were whole', async () => {
    const origin = sessionOrigin(p.gateway.port, sessionId);
    const cookie = cookieFrom(await originFetch(`${origin}/?token=${dana}`, { redirect: 'manual' }));
    const res = await originFetch(`${origin}/notes.txt?truncate=1`, { headers: { cookie } });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('sets no cookie for someone else’s session (a link with their token must not lead a browser there)', async () => {
    const planted = await originFetch(`${sessionOrigin(p.gateway.port, sessionId)}/?token=${eve}`, { redirect: 'manual' });
    expect(planted.status).toBe(404);
    expect(planted.headers.get('set-cookie')).toBeNull();
    // Its problem does not echo the token it was sent.
    expect(JSON.stringify(await planted.json())).not.toContain(eve);
  });

  it('moves the old path-based links to the session\'s own origin, and serves no session on the API\'s', async () => {
    const old = await fetch(`${p.gateway.url}/sessions/${sessionId}/tree?x=1`, { redirect: 'manual' });
    expect(old.status).toBe(308);
    expect(old.headers.get('location')).toBe(`${sessionOrigin(p.gateway.port, sessionId)}/tree?x=1`);
    expect((await fetch(`${p.gateway.url}/sessions/not-a-session/`, { redirect: 'manual' })).status).toBe(404);
    expect((await originFetch(`http://not-a-session.sessions.localhost:${p.gateway.port}/`)).status).toBe(404);
  });

  it('survives a WebSocket client that resets while it is being authenticated, and garbage on its subjects', async () => {
    const { connect: tcp } = await import('node:net');
    // Resets at several moments, so that some land while the gateway awaits the token check or the route.
    for (let delayMs = 0; delayMs < 12; delayMs++) {
      const socket = tcp(p.gateway.port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      socket.write(`GET /api/kernels/x/channels HTTP/1.1\r\nHost: ${sessionId}.sessions.localhost:${p.gateway.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${dana}\r\n\r\n`);
      await new Promise((r) => setTimeout(r, delayMs));
      socket.resetAndDestroy();
    }
    const nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    for (const subject of ['sessions.signal.activity', 'sessions.session.stopping', 'sessions.session.starting', 'sessions.session.deleted']) nc.publish(subject, 'not json');
    await nc.flush();
    await nc.close();
    // Still serving: the API (over NATS, both ways) and the proxy.
    expect((await call(`${p.api}/sessions/${sessionId}`, { token: dana })).body.status).toBe('running');
    expect((await originFetch(`${sessionOrigin(p.gateway.port, sessionId)}/`, { headers: { authorization: `Bearer ${dana}` } })).status).toBe(200);
    expect(p.gateway.logs()).not.toMatch(/"level":60|ECONNRESET.*uncaught/i);
  });

  it('answers 404 to anyone but the owner, and 401 to nobody', async () => {
    const other = await originFetch(`${sessionOrigin(p.gateway.port, sessionId)}/`, { headers: { authorization: `Bearer ${eve}` } });
    expect(other.status).toBe(404);
    const anonymous = await originFetch(`${sessionOrigin(p.gateway.port, sessionId)}/`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ detail: expect.stringMatching(/\?token=/) });
  });

  it('gives a program that takes a secret (auth: jupyter-token) its own, which the gateway adds to what it proxies', async () => {
    const id = await customLauncher('With a token', { auth: { kind: 'jupyter-token' } });
    const started = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: id } });
    expect(started.status).toBe(201);
    await settled(started.body.id, dana, ['running']);
    const seen = await echoed(await originFetch(`${sessionOrigin(p.gateway.port, started.body.id)}/`, { headers: { authorization: `Bearer ${dana}` } }));
    // Jupyter's header, with a secret of this session's own: not the caller's token.
    expect(seen.headers.authorization).toMatch(/^token [0-9a-f]{64}$/);
    expect(seen.headers.authorization).not.toContain(dana);
    await deleteAndWait(started.body.id);
  });

  it('returns the last lines of the session’s output', async () => {
    const res = await call(`${p.api}/sessions/${sessionId}/logs?lines=5`, { token: dana });
    expect(res.status).toBe(200);
    expect(res.body.lines.join('\n')).toMatch(/session program listening on \d+/);
    expect((await call(`${p.api}/sessions/${sessionId}/logs?lines=0`, { token: dana })).status).toBe(400);
  });

  it('hibernates (files kept, process gone) and resumes', async () => {
    const running = await call(`${p.api}/sessions/${sessionId}`, { token: dana });
    const before = await echoed(await originFetch(`${sessionOrigin(p.gateway.port, sessionId)}/`, { headers: { authorization: `Bearer ${dana}` } }));
    writeFileSync(join(before.cwd, 'notes.txt'), 'keep me');
    const hibernate = await call(`${p.api}/sessions/${sessionId}`, { method: 'PATCH', token: dana, body: { state: 'hibernated' } });
    expect(hibernate.status).toBe(200);
    expect(hibernate.body.status).toBe('stopping');
    const hibernated = await settled(sessionId, dana, ['hibernated']);
    expect(hibernated.hibernationReason).toBe('hibernated by dana');
    expect(hibernated.willDeleteAt).not.toBeNull();
    expect(isRunning(before.pid)).toBe(false);
    const closed = await originFetch(`${sessionOrigin(p.gateway.port, sessionId)}/`, { headers: { authorization: `Bearer ${dana}` } });
    expect(closed.status).toBe(409);

    const resume = await call(`${p.api}/sessions/${sessionId}`, { method: 'PATCH', token: dana, body: { state: 'running' } });
    expect(resume.body).toMatchObject({ status: 'starting', phase: 'resuming' });
    await settled(sessionId, dana, ['running']);
    const after = await echoed(await originFetch(`${sessionOrigin(p.gateway.port, sessionId)}/`, { headers: { authorization: `Bearer ${dana}` } }));
    expect(after.pid).not.toBe(before.pid);
    expect(after.files).toEqual(expect.arrayContaining(['analysis', 'notes.txt']));
    expect(running.body.id).toBe(sessionId);
  });

  it('fails with a reason a person can act on: a command that is not installed', async () => {
    const id = await customLauncher('Missing program', { command: ['no-such-notebook-server'], args: [] });
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: id } });
    expect(res.status).toBe(201);
    const failed = await settled(res.body.id, dana, ['failed']);
    expect(failed.message).toMatch(/command not found: no-such-notebook-server/);
    await deleteAndWait(res.body.id);
  });

  it('fails with the exit code and the last lines when the program exits before it is ready', async () => {
    const id = await customLauncher('Crashing program', {}, { PROGRAM_EXIT_CODE: '3' });
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: id } });
    const failed = await settled(res.body.id, dana, ['failed']);
    expect(failed.message).toMatch(/exited with code 3/);
    expect(failed.message).toMatch(/told to fail at start/);
    await deleteAndWait(res.body.id);
  });

  it('refuses a launch over the pool quota, naming the pool and what is left', async () => {
    // The public pool holds 3 CPU here; the default class takes 1 per session.
    const big = await call(`${p.api}/resource-pools`, { token: admin });
    const pool = big.body.items.find((x: { isDefault: boolean }) => x.isDefault);
    const cls = await call(`${p.api}/resource-pools/${pool.id}/classes`, { method: 'POST', token: admin, body: { id: 'large', name: 'Large', cpu: 2.5, memoryGb: 4, gpu: 0 } });
    expect(cls.status).toBe(201);
    const id = await customLauncher('Big notebook');
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: id, resourceClassId: 'large' } });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('QUOTA_EXCEEDED');
    expect(res.body.detail).toMatch(/^resource pool "Public" has 2 CPU, 62 GB memory and 0 GPU left, but class "Large" needs 2.5 CPU/);
    const unknown = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: id, resourceClassId: 'huge' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toMatch(/resource class "huge" does not exist/);
  });

  it('keeps private pools to their users', async () => {
    const created = await call(`${p.api}/resource-pools`, {
      method: 'POST',
      token: admin,
      body: { name: 'GPU lab', quota: { cpu: 8, memoryGb: 32, gpu: 2 }, classes: [{ id: 'gpu-small', name: 'GPU small', cpu: 1, memoryGb: 4, gpu: 1, isDefault: true }] },
    });
    expect(created.status).toBe(201);
    expect((await call(`${p.api}/resource-pools`, { token: dana })).body.items.map((x: { name: string }) => x.name)).toEqual(['Public']);
    const id = await customLauncher('GPU notebook');
    const refused = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: id, resourceClassId: 'gpu-small' } });
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/you may not use resource pool "GPU lab"/);
    expect((await call(`${p.api}/resource-pools/${created.body.id}/users/dana`, { method: 'PUT', token: admin })).status).toBe(204);
    expect((await call(`${p.api}/resource-pools`, { token: dana })).body.items.map((x: { name: string }) => x.name)).toEqual(['Public', 'GPU lab']);
    expect((await call(`${p.api}/resource-pools`, { method: 'POST', token: dana, body: { name: 'Mine', quota: { cpu: 1, memoryGb: 1, gpu: 0 } } })).status).toBe(403);
  });

  it('refuses to start an app launcher as a session, and a launcher the caller cannot see', async () => {
    const app = await call(`${p.api}/projects/301/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'Dashboard', kind: 'app', environment: { kind: 'custom', image: 'ghcr.io/lab/dash:1', port: 8050, command: ['python'] } },
    });
    const asSession = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: app.body.id } });
    expect(asSession.status).toBe(409);
    expect(asSession.body.detail).toMatch(/starts an app, not a session/);
    const stranger = await call(`${p.api}/sessions`, { method: 'POST', token: eve, body: { launcherId } });
    expect(stranger.status).toBe(404);
  });

  it('parks a launcher event it does not understand on the dead-letter stream, and carries on', async () => {
    const nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    try {
      const id = randomUUID();
      const envelope = { id, type: 'environments.launcher.created', version: 99, occurredAt: new Date().toISOString(), data: {} };
      await nc.request('environments.launcher.created', JSON.stringify(envelope), { timeout: 5000 });
      const parked = await waitFor('the event to be parked', async () => {
        const messages = await readStream(nc, 'DEADLETTER', 'deadletter.ENVIRONMENTS.sessions-launchers');
        return messages.find((m) => m.data.id === id);
      });
      expect(JSON.stringify(parked.headers)).toMatch(/does not understand environments\.launcher\.created v99/);
    } finally {
      await nc.close();
    }
    // Still consuming: a launcher created after the poison reaches the sessions read model.
    await customLauncher('After poison');
    const db = new pg.Client({ connectionString: p.db.url });
    await db.connect();
    try {
      await waitFor('the read model to have the new launcher', async () => {
        const { rows } = await db.query(`SELECT 1 FROM sessions.catalogue_launchers WHERE name = 'After poison'`);
        return rows.length === 1;
      });
    } finally {
      await db.end();
    }
  });

  it('stops and deletes the sessions of a launcher that is deleted', async () => {
    const id = await customLauncher('Short-lived');
    const started = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: id } });
    await settled(started.body.id, dana, ['running']);
    const { pid } = await echoed(await originFetch(`${sessionOrigin(p.gateway.port, started.body.id)}/`, { headers: { authorization: `Bearer ${dana}` } }));
    expect((await call(`${p.api}/launchers/${id}`, { method: 'DELETE', token: dana })).status).toBe(204);
    await waitFor('the session to go with its launcher', async () => (await call(`${p.api}/sessions/${started.body.id}`, { token: dana })).status === 404);
    expect(isRunning(pid)).toBe(false);
  });

  it('deletes a session: its process and its files go, and the launcher can be started afresh', async () => {
    const before = await echoed(await originFetch(`${sessionOrigin(p.gateway.port, sessionId)}/`, { headers: { authorization: `Bearer ${dana}` } }));
    expect((await call(`${p.api}/sessions/${sessionId}`, { method: 'DELETE', token: dana })).status).toBe(204);
    // A session being deleted cannot be brought back.
    expect((await call(`${p.api}/sessions/${sessionId}`, { method: 'PATCH', token: dana, body: { state: 'running' } })).status).toBe(404);
    await waitFor('the session to be gone', async () => (await call(`${p.api}/sessions/${sessionId}`, { token: dana })).status === 404);
    expect(isRunning(before.pid)).toBe(false);
    expect(existsSync(join(dataDir, sessionId))).toBe(false);
    const fresh = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId } });
    expect(fresh.status).toBe(201);
    expect(fresh.body.id).not.toBe(sessionId);
  });

  it('hibernates the sessions of a member removed from a private project, and refuses to resume them', async () => {
    const [session] = (await call(`${p.api}/sessions`, { token: dana })).body.items;
    await settled(session.id, dana, ['running']);
    expect((await call(`${p.api}/projects/301/members/dana`, { method: 'DELETE', token: admin })).status).toBe(204);
    const hibernated = await settled(session.id, dana, ['hibernated']);
    expect(hibernated.hibernationReason).toBe('membership of project lab/analysis removed');
    const resume = await call(`${p.api}/sessions/${session.id}`, { method: 'PATCH', token: dana, body: { state: 'running' } });
    expect(resume.status).toBe(404);
    expect(resume.body.detail).toMatch(/not found/);
  });
});
