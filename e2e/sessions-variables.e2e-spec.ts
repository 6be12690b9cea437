import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { killWorkloads, ROOT, waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { readStream } from '../tools/testing/streams.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');
const SECRET = 'tok-8f3a1c5e9b7d2f40-do-not-leak';

/** Launcher variables (one of them secret), overrides at launch, and archived environments, through the gateway. */
describe('session variables and archived environments', () => {
  let p: TestPlatform;
  let dataDir: string;
  let admin: string, dana: string, eve: string;
  let db: pg.Client;
  let launcherId: string;
  let sessionId: string;

  const environment = { kind: 'custom', image: 'ghcr.io/lab/notebook:1', port: 8888, defaultUrl: '/', command: [process.execPath], args: [PROGRAM], env: { FROM_ENV: 'env', GREETING: 'from-environment' } };
  const settled = (id: string, statuses: string[]) =>
    waitFor(
      `session ${id} to be ${statuses.join(' or ')}`,
      async () => {
        const res = await call(`${p.api}/sessions/${id}`, { token: dana });
        return statuses.includes(res.body?.status) ? res.body : undefined;
      },
      60_000,
    );
  /** What the session's program sees, asked of it directly at the endpoint the runtime reported. */
  const sessionEnv = async (id: string, names: string[]) => {
    const { rows } = await db.query(`SELECT endpoint FROM sessions.sessions WHERE id = $1`, [id]);
    const res = await fetch(`${rows[0].endpoint}/sessions/${id}/?env=${names.join(',')}`);
    return ((await res.json()) as { env: Record<string, string | null> }).env;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-vars-'));
    p = await startPlatform({ sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '1000', LEADER_ELECTION_INTERVAL_MS: '500' } }, { services: ['sessions'] });
    [admin, dana, eve] = await Promise.all([p.token('root', true), p.token('dana'), p.token('eve')]);
    db = new pg.Client({ connectionString: p.db.url });
    await db.connect();
    expect((await call(`${p.api}/projects/501`, { method: 'PUT', token: admin, body: { path: 'lab/vars', name: 'Vars', visibility: 'private' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/501/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
  });

  afterAll(async () => {
    await db?.end();
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses bad variables with problem+json naming the variable', async () => {
    const attempt = (envVariables: unknown) =>
      call(`${p.api}/projects/501/launchers`, { method: 'POST', token: dana, body: { name: 'Bad', kind: 'session', environment, envVariables } });
    const cases: [unknown, string][] = [
      [[{ name: '1ABC', value: 'x' }], 'letters, digits'],
      [[{ name: 'LONG', value: 'x'.repeat(501) }], 'at most 500'],
      [Array.from({ length: 33 }, (_, i) => ({ name: `V${i}`, value: 'x' })), 'at most 32'],
      [[{ name: 'A', value: '1' }, { name: 'A', value: '2' }], 'more than once'],
      [[{ name: 'PLAIN' }], 'needs a value'],
      [[{ name: 'NEW_SECRET', secret: true }], 'new secret variable'],
      [[{ name: 'PORT', value: '1' }], 'set by the platform'],
    ];
    for (const [envVariables, words] of cases) {
      const res = await attempt(envVariables);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(JSON.stringify(res.body)).toContain(words);
    }
  });

  it('keeps a secret variable write-only: redacted in every answer', async () => {
    const res = await call(`${p.api}/projects/501/launchers`, {
      method: 'POST',
      token: dana,
      body: {
        name: 'Notebook',
        kind: 'session',
        environment,
        envVariables: [
          { name: 'GREETING', value: 'hello' },
          { name: 'API_TOKEN', value: SECRET, secret: true },
        ],
      },
    });
    expect(res.status).toBe(201);
    launcherId = res.body.id;
    expect(res.body.envVariables).toEqual([
      { name: 'GREETING', value: 'hello', secret: false },
      { name: 'API_TOKEN', value: null, secret: true },
    ]);
    const listed = await call(`${p.api}/projects/501/launchers`, { token: dana });
    expect(listed.body.items[0].envVariables[1]).toEqual({ name: 'API_TOKEN', value: null, secret: true });
    const { rows } = await db.query(`SELECT env_variables::text AS v FROM environments.launchers WHERE id = $1`, [launcherId]);
    expect(rows[0].v).toContain('API_TOKEN');
    expect(rows[0].v).not.toContain(SECRET);
  });

  it('gives the session the variables, later ones winning, and the secret one', async () => {
    const res = await call(`${p.api}/sessions`, {
      method: 'POST',
      token: dana,
      body: { launcherId, envVariableOverrides: [{ name: 'GREETING', value: 'overridden' }, { name: 'EXTRA', value: 'x' }] },
    });
    expect(res.status).toBe(201);
    sessionId = res.body.id;
    await settled(sessionId, ['running']);
    expect(await sessionEnv(sessionId, ['FROM_ENV', 'GREETING', 'API_TOKEN', 'EXTRA'])).toEqual({ FROM_ENV: 'env', GREETING: 'overridden', API_TOKEN: SECRET, EXTRA: 'x' });
  });

  it('refuses bad overrides with problem+json', async () => {
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId, envVariableOverrides: [{ name: 'no-dash', value: 'x' }] } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('letters, digits');
  });

  it('on resume applies the launcher as it is now, the overrides again, and a secret sent back without its value is kept', async () => {
    const updated = await call(`${p.api}/launchers/${launcherId}`, {
      method: 'PATCH',
      token: dana,
      body: { envVariables: [{ name: 'GREETING', value: 'hello again' }, { name: 'API_TOKEN', secret: true }, { name: 'ADDED', value: 'new' }] },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.envVariables[1]).toEqual({ name: 'API_TOKEN', value: null, secret: true });
    expect((await call(`${p.api}/sessions/${sessionId}`, { method: 'PATCH', token: dana, body: { state: 'hibernated' } })).status).toBe(200);
    await settled(sessionId, ['hibernated']);
    expect((await call(`${p.api}/sessions/${sessionId}`, { method: 'PATCH', token: dana, body: { state: 'running' } })).status).toBe(200);
    await settled(sessionId, ['running']);
    expect(await sessionEnv(sessionId, ['GREETING', 'API_TOKEN', 'ADDED', 'EXTRA'])).toEqual({ GREETING: 'overridden', API_TOKEN: SECRET, ADDED: 'new', EXTRA: 'x' });
  });

  it('the secret value is in no API answer, no event, no log line and nowhere in the tables in plaintext', async () => {
    const answers = await Promise.all([
      call(`${p.api}/launchers/${launcherId}`, { token: dana }),
      call(`${p.api}/sessions/${sessionId}`, { token: dana }),
      call(`${p.api}/sessions`, { token: dana }),
      call(`${p.api}/sessions/${sessionId}/logs?lines=200`, { token: dana }),
    ]);
    for (const a of answers) expect(JSON.stringify(a.body)).not.toContain(SECRET);
    for (const service of [p.environments, p.gateway, p.services.sessions!]) expect(service.logs()).not.toContain(SECRET);
    const nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    try {
      for (const [stream, filter] of [['ENVIRONMENTS', 'environments.>'], ['SESSIONS', 'sessions.>']] as const) {
        const messages = await readStream(nc, stream, filter);
        expect(messages.length).toBeGreaterThan(0);
        expect(JSON.stringify(messages)).not.toContain(SECRET);
      }
    } finally {
      await nc.close();
    }
    const { rows } = await db.query(`SELECT spec::text AS spec, secret_env FROM sessions.sessions WHERE id = $1`, [sessionId]);
    expect(rows[0].secret_env).toMatch(/^lp1\./);
    expect(`${rows[0].spec} ${rows[0].secret_env}`).not.toContain(SECRET);
    const { rows: outbox } = await db.query(`SELECT envelope::text AS t FROM sessions.outbox UNION ALL SELECT envelope::text FROM environments.outbox`);
    expect(outbox.length).toBeGreaterThan(0);
    for (const row of outbox) expect(row.t).not.toContain(SECRET);
  });

  it('someone who may not read the project gets no launcher and no secret', async () => {
    expect((await call(`${p.api}/launchers/${launcherId}`, { token: eve })).status).toBe(404);
    expect((await call(`${p.api}/sessions`, { method: 'POST', token: eve, body: { launcherId } })).status).toBe(404);
  });

  it('an archived environment is hidden from the list and from new launchers, and keeps working for the launchers that use it', async () => {
    const created = await call(`${p.api}/environments`, {
      method: 'POST',
      token: admin,
      body: { name: 'Old stack', image: 'ghcr.io/lab/old:1', port: 8888, command: [process.execPath], args: [PROGRAM] },
    });
    expect(created.status).toBe(201);
    expect(created.body.isArchived).toBe(false);
    const envId = created.body.id as string;
    const user = await call(`${p.api}/projects/501/launchers`, { method: 'POST', token: dana, body: { name: 'Old', kind: 'session', environment: { kind: 'global', id: envId } } });
    expect(user.status).toBe(201);
    const archived = await call(`${p.api}/environments/${envId}`, { method: 'PATCH', token: admin, body: { isArchived: true } });
    expect(archived.status).toBe(200);
    expect(archived.body.isArchived).toBe(true);
    const ids = (res: { body: { items: { id: string }[] } }) => res.body.items.map((e) => e.id);
    expect(ids(await call(`${p.api}/environments`, { token: dana }))).not.toContain(envId);
    expect(ids(await call(`${p.api}/environments?includeArchived=true`, { token: dana }))).toContain(envId);
    expect((await call(`${p.api}/environments?includeArchived=yes`, { token: dana })).status).toBe(400);
    const refused = await call(`${p.api}/projects/501/launchers`, { method: 'POST', token: dana, body: { name: 'Older', kind: 'session', environment: { kind: 'global', id: envId } } });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain('archived');
    // The launcher that uses it keeps it through an edit, and still starts sessions.
    const renamed = await call(`${p.api}/launchers/${user.body.id}`, { method: 'PATCH', token: dana, body: { name: 'Old one', environment: { kind: 'global', id: envId } } });
    expect(renamed.status).toBe(200);
    const started = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: user.body.id } });
    expect(started.status).toBe(201);
    await settled(started.body.id, ['running']);
    const defaultEnv = (await call(`${p.api}/environments`, { token: dana })).body.items.find((e: { isDefault: boolean }) => e.isDefault);
    const noArchivingDefault = await call(`${p.api}/environments/${defaultEnv.id}`, { method: 'PATCH', token: admin, body: { isArchived: true } });
    expect(noArchivingDefault.status).toBe(409);
  });
});
