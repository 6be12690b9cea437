import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { killWorkloads, ROOT, waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'hostile-session.mjs');
// A range of this suite's own: its nftables chain is its alone (suites run side by side), and removed after.
const RANGE = '384000-384999';
const CHAIN = 'workloads_384000_384999';
const isRoot = process.getuid?.() === 0;

interface Target {
  name: string;
  host?: string;
  port?: number;
  path?: string;
}

function attempt(target: Target): Promise<string> {
  return new Promise((resolve) => {
    const socket = target.path ? connect({ path: target.path }) : connect({ host: target.host!, port: target.port! });
    socket.setTimeout(5_000);
    socket.once('connect', () => (socket.destroy(), resolve('connected')));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.once('timeout', () => (socket.destroy(), resolve('timeout')));
  });
}

/**
 * Issue 10's "a session cannot read Postgres", replayed as a hostile user would: a session started
 * through the gateway, on a platform whose sessions service runs as root, tries Postgres over TCP
 * and over its unix socket (trust auth on both on this machine), NATS, and the sessions service's
 * own port. Each is refused inside the session, while the platform (and we) still reach them.
 */
(isRoot ? describe : describe.skip)('a hostile session cannot reach Postgres, NATS or the services (run as root)', () => {
  let p: TestPlatform;
  let dataDir: string;
  let db: pg.Client;
  let eve: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-net-'));
    p = await startPlatform({ sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '1000', RUNTIME_UID_RANGE: RANGE, RUNTIME_MULTI_USER: 'true' } }, { services: ['sessions'] });
    const admin = await p.token('root', true);
    eve = await p.token('eve');
    db = new pg.Client({ connectionString: p.db.url });
    await db.connect();
    expect((await call(`${p.api}/projects/901`, { method: 'PUT', token: admin, body: { path: 'eve/probe', name: 'Probe', visibility: 'private' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/901/members/eve`, { method: 'PUT', token: admin, body: { role: 'owner' } })).status).toBe(200);
  });

  afterAll(async () => {
    await db?.end();
    await p?.stop();
    if (dataDir) {
      killWorkloads(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    }
    try {
      execFileSync('nft', ['delete', 'chain', 'inet', 'launchpad_runtime', CHAIN], { stdio: 'ignore' });
    } catch {
      // not installed: nothing to remove
    }
  });

  it('refuses the session Postgres over TCP and its socket, NATS and the sessions service, and not the gateway', async () => {
    const pgUrl = new URL(p.db.url);
    const pgPort = Number(pgUrl.port || 5432);
    const targets: Target[] = [
      { name: 'postgresTcp', host: '127.0.0.1', port: pgPort },
      { name: 'postgresSocket', path: `/var/run/postgresql/.s.PGSQL.${pgPort}` },
      { name: 'nats', host: '127.0.0.1', port: p.nats.port },
      { name: 'sessionsService', host: '127.0.0.1', port: p.services.sessions!.port },
      { name: 'gateway', host: '127.0.0.1', port: p.gateway.port },
    ];
    // From here every one of them answers.
    for (const target of targets) expect([target.name, await attempt(target)]).toEqual([target.name, 'connected']);

    const environment = { kind: 'custom', image: 'ghcr.io/eve/probe:1', port: 8888, defaultUrl: '/', command: [process.execPath], args: [PROGRAM] };
    const launcher = await call(`${p.api}/projects/901/launchers`, { method: 'POST', token: eve, body: { name: 'Probe', kind: 'session', environment } });
    expect(launcher.status).toBe(201);
    const started = await call(`${p.api}/sessions`, { method: 'POST', token: eve, body: { launcherId: launcher.body.id } });
    expect(started.status).toBe(201);
    const id = started.body.id as string;
    await waitFor(
      `session ${id} to run`,
      async () => {
        const res = await call(`${p.api}/sessions/${id}`, { token: eve });
        if (res.body?.status === 'failed') throw new Error(`session failed: ${res.body.message}`);
        return res.body?.status === 'running' ? res.body : undefined;
      },
      60_000,
    );
    const { rows } = await db.query(`SELECT endpoint FROM sessions.sessions WHERE id = $1`, [id]);
    const res = await fetch(`${rows[0].endpoint}/sessions/${id}/?targets=${encodeURIComponent(JSON.stringify(targets))}`);
    const seen = (await res.json()) as { results: Record<string, string>; socketDir: unknown; uid: number };
    expect(seen.uid).toBeGreaterThanOrEqual(384000);
    expect(seen.results).toEqual({ postgresTcp: 'ECONNREFUSED', postgresSocket: 'ENOENT', nats: 'ECONNREFUSED', sessionsService: 'ECONNREFUSED', gateway: 'connected' });
    expect(seen.socketDir).toEqual([]);

    // The platform itself still has Postgres and NATS: the session answers its status through them.
    expect((await call(`${p.api}/sessions/${id}`, { token: eve })).body.status).toBe('running');
    expect((await call(`${p.api}/sessions/${id}`, { method: 'DELETE', token: eve })).status).toBeLessThan(300);
  });

  it("refuses a session another user's session port on loopback, which that session itself and the platform still reach", async () => {
    const admin = await p.token('root', true);
    const alice = await p.token('alice');
    expect((await call(`${p.api}/projects/902`, { method: 'PUT', token: admin, body: { path: 'alice/private', name: 'Private', visibility: 'private' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/902/members/alice`, { method: 'PUT', token: admin, body: { role: 'owner' } })).status).toBe(200);
    // Both run a program that checks nobody who connects (as an `auth: none` environment may).
    const environment = { kind: 'custom', image: 'ghcr.io/any/probe:1', port: 8888, defaultUrl: '/', command: [process.execPath], args: [PROGRAM] };
    const start = async (project: number, token: string) => {
      const launcher = await call(`${p.api}/projects/${project}/launchers`, { method: 'POST', token, body: { name: 'Neighbour', kind: 'session', environment } });
      expect(launcher.status).toBe(201);
      const started = await call(`${p.api}/sessions`, { method: 'POST', token, body: { launcherId: launcher.body.id } });
      expect(started.status).toBe(201);
      const id = started.body.id as string;
      await waitFor(
        `session ${id} to run`,
        async () => {
          const res = await call(`${p.api}/sessions/${id}`, { token });
          if (res.body?.status === 'failed') throw new Error(`session failed: ${res.body.message}`);
          return res.body?.status === 'running' ? res.body : undefined;
        },
        60_000,
      );
      const { rows } = await db.query(`SELECT endpoint FROM sessions.sessions WHERE id = $1`, [id]);
      return { id, endpoint: new URL(rows[0].endpoint as string) };
    };
    const victim = await start(902, alice);
    const attacker = await start(901, eve);
    const port = Number(victim.endpoint.port);
    const targets: Target[] = [{ name: 'victim', host: '127.0.0.1', port }];
    const ask = async (session: { id: string; endpoint: URL }) =>
      ((await (await fetch(`${session.endpoint.origin}/sessions/${session.id}/?targets=${encodeURIComponent(JSON.stringify(targets))}`)).json()) as { results: Record<string, string> }).results;

    // We (the platform's uid, as the gateway) reach it; so does the session itself.
    expect(await attempt({ name: 'us', host: '127.0.0.1', port })).toBe('connected');
    expect(await ask(victim)).toEqual({ victim: 'connected' });
    // Eve's session does not.
    expect(await ask(attacker)).toEqual({ victim: 'ECONNREFUSED' });

    for (const [session, token] of [[victim, alice], [attacker, eve]] as const) {
      expect((await call(`${p.api}/sessions/${session.id}`, { method: 'DELETE', token })).status).toBeLessThan(300);
    }
  });
});
