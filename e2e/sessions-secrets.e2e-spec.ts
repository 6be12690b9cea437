import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { killWorkloads, ROOT, waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { readStream } from '../tools/testing/streams.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');
const DANA_SECRET = 'dana-9c2e41f7a0b3-api-key';
const GUS_SECRET = 'gus-51d8e3c0f6a2-api-key';

/** Users' own secrets, a project's secret slot, and the files each member's session gets from them. */
describe('user secrets and secret slots', () => {
  let p: TestPlatform;
  let dataDir: string;
  let db: pg.Client;
  let admin: string, olivia: string, dana: string, gus: string, nora: string;
  let slotId: string;
  let danaSecret: string, gusSecret: string;
  let launcherId: string;
  const sessions: Record<string, string> = {};

  const settled = (id: string, token: string, statuses: string[]) =>
    waitFor(
      `session ${id} to be ${statuses.join(' or ')}`,
      async () => {
        const res = await call(`${p.api}/sessions/${id}`, { token });
        return statuses.includes(res.body?.status) ? res.body : undefined;
      },
      60_000,
    );
  const secretFile = async (id: string, name: string) => {
    const { rows } = await db.query(`SELECT endpoint FROM sessions.sessions WHERE id = $1`, [id]);
    const res = await fetch(`${rows[0].endpoint}/sessions/${id}/?secret=${name}`);
    return ((await res.json()) as { secret: unknown }).secret;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-secrets-'));
    p = await startPlatform({ sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '1000', LEADER_ELECTION_INTERVAL_MS: '500' } }, { services: ['sessions'] });
    [admin, olivia, dana, gus, nora] = await Promise.all([p.token('root', true), p.token('olivia'), p.token('dana'), p.token('gus'), p.token('nora')]);
    db = new pg.Client({ connectionString: p.db.url });
    await db.connect();
    expect((await call(`${p.api}/projects/701`, { method: 'PUT', token: admin, body: { path: 'lab/secret-study', name: 'Secret study', visibility: 'private' } })).status).toBe(200);
    for (const [user, role] of [['olivia', 'owner'], ['dana', 'developer'], ['gus', 'guest']] as const) {
      expect((await call(`${p.api}/projects/701/members/${user}`, { method: 'PUT', token: admin, body: { role } })).status).toBe(200);
    }
  });

  afterAll(async () => {
    await db?.end();
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps a user’s secrets to that user, and never answers with a value', async () => {
    const created = await call(`${p.api}/user/secrets`, { method: 'POST', token: dana, body: { name: 'api key', value: DANA_SECRET } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), name: 'api key', kind: 'general', createdAt: expect.any(String), updatedAt: expect.any(String) });
    danaSecret = created.body.id;
    const gusCreated = await call(`${p.api}/user/secrets`, { method: 'POST', token: gus, body: { name: 'api key', value: GUS_SECRET, kind: 'general' } });
    expect(gusCreated.status).toBe(201);
    gusSecret = gusCreated.body.id;
    expect((await call(`${p.api}/user/secrets`, { token: dana })).body.items.map((s: { id: string }) => s.id)).toEqual([danaSecret]);
    expect((await call(`${p.api}/user/secrets/${danaSecret}`, { token: gus })).status).toBe(404);
    expect((await call(`${p.api}/user/secrets/${danaSecret}`, { method: 'PATCH', token: gus, body: { value: 'stolen' } })).status).toBe(404);
    expect((await call(`${p.api}/user/secrets/${danaSecret}`, { method: 'DELETE', token: gus })).status).toBe(404);
    expect((await call(`${p.api}/user/secrets`, { method: 'POST', token: dana, body: { name: 'api key', value: 'again' } })).status).toBe(409);
    const storage = await call(`${p.api}/user/secrets`, { method: 'POST', token: dana, body: { name: 's3', value: 'AKIA:xyz', kind: 'storage' } });
    expect(storage.status).toBe(201);
    expect((await call(`${p.api}/user/secrets?kind=storage`, { token: dana })).body.items.map((s: { name: string }) => s.name)).toEqual(['s3']);
  });

  it('refuses bad secrets and slots with problem+json', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', '/user/secrets', { name: 'big', value: 'x'.repeat(5001) }, 'at most 5000 bytes'],
      ['POST', '/user/secrets', { name: 'multibyte', value: 'é'.repeat(2501) }, 'at most 5000 bytes'],
      ['POST', '/user/secrets', { name: 'k', value: 'v', kind: 'ssh' }, 'kind must be'],
      ['POST', '/user/secrets', { name: '', value: 'v' }, 'name'],
      ['POST', '/projects/701/secret-slots', { name: 'Bad', filename: '../etc/passwd' }, 'a filename is'],
      ['POST', '/projects/701/secret-slots', { name: 'Bad', filename: '..' }, 'filename'],
    ];
    for (const [method, path, body, words] of cases) {
      const res = await call(`${p.api}${path}`, { method, token: dana, body });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(JSON.stringify(res.body)).toContain(words);
    }
    expect((await call(`${p.api}/user/secrets?kind=ssh`, { token: dana })).status).toBe(400);
  });

  it('authorises every secret route: the matrix', async () => {
    const slot = await call(`${p.api}/projects/701/secret-slots`, { method: 'POST', token: dana, body: { name: 'API token', description: 'for the analysis', filename: 'api_token' } });
    expect(slot.status).toBe(201);
    slotId = slot.body.id;
    const scratch = (await call(`${p.api}/projects/701/secret-slots`, { method: 'POST', token: olivia, body: { name: 'Scratch', filename: 'scratch' } })).body.id as string;
    expect((await call(`${p.api}/projects/701/secret-slots`, { method: 'POST', token: dana, body: { name: 'Other', filename: 'api_token' } })).status).toBe(409);
    const noToken = undefined;
    const matrix: [string, string, unknown, Record<string, number>][] = [
      ['GET', '/user/secrets', undefined, { anonymous: 401, nora: 200 }],
      ['POST', '/user/secrets', { name: 'n', value: 'v' }, { anonymous: 401 }],
      ['GET', `/user/secrets/${danaSecret}`, undefined, { anonymous: 401, gus: 404, admin: 404, dana: 200 }],
      ['GET', '/projects/701/secret-slots', undefined, { anonymous: 401, nora: 404, gus: 200, dana: 200, admin: 200 }],
      ['POST', '/projects/701/secret-slots', { name: 'X', filename: 'x' }, { anonymous: 401, nora: 404, gus: 403 }],
      ['PATCH', `/projects/701/secret-slots/${scratch}`, { description: 'changed' }, { anonymous: 401, nora: 404, gus: 403, dana: 200, olivia: 200 }],
      ['PUT', `/projects/701/secret-slots/${slotId}/secret`, { secretId: danaSecret }, { anonymous: 401, nora: 404, gus: 404, dana: 200 }],
      ['DELETE', `/projects/701/secret-slots/${slotId}/secret`, undefined, { anonymous: 401, nora: 404, gus: 200 }],
      ['DELETE', `/projects/701/secret-slots/${scratch}`, undefined, { anonymous: 401, nora: 404, gus: 403, dana: 204 }],
    ];
    const tokens: Record<string, string | undefined> = { anonymous: noToken, admin, olivia, dana, gus, nora };
    for (const [method, path, body, expected] of matrix) {
      for (const [who, status] of Object.entries(expected)) {
        const res = await call(`${p.api}${path}`, { method, ...(tokens[who] ? { token: tokens[who] } : {}), ...(body !== undefined ? { body } : {}) });
        if (res.status !== status) throw new Error(`${method} ${path} as ${who}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
        if (status >= 400) expect(res.headers.get('content-type')).toContain('application/problem+json');
      }
    }
  });

  it('each member fills the slot with a secret of their own, and sees only their own fill', async () => {
    const danaFill = await call(`${p.api}/projects/701/secret-slots/${slotId}/secret`, { method: 'PUT', token: dana, body: { secretId: danaSecret } });
    expect(danaFill.status).toBe(200);
    expect(danaFill.body.secretId).toBe(danaSecret);
    expect((await call(`${p.api}/projects/701/secret-slots/${slotId}/secret`, { method: 'PUT', token: gus, body: { secretId: gusSecret } })).status).toBe(200);
    const asDana = await call(`${p.api}/projects/701/secret-slots`, { token: dana });
    const asOlivia = await call(`${p.api}/projects/701/secret-slots`, { token: olivia });
    expect(asDana.body.items.find((s: { id: string }) => s.id === slotId).secretId).toBe(danaSecret);
    expect(asOlivia.body.items.find((s: { id: string }) => s.id === slotId).secretId).toBeNull();
  });

  it('their sessions see the filled slots as files only the session can read, each their own value', async () => {
    const launcher = await call(`${p.api}/projects/701/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'Notebook', kind: 'session', environment: { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: [process.execPath], args: [PROGRAM] } },
    });
    expect(launcher.status).toBe(201);
    launcherId = launcher.body.id;
    for (const [user, token] of [['dana', dana], ['gus', gus], ['olivia', olivia]] as const) {
      const res = await call(`${p.api}/sessions`, { method: 'POST', token, body: { launcherId } });
      expect(res.status).toBe(201);
      sessions[user] = res.body.id;
    }
    for (const [user, token] of [['dana', dana], ['gus', gus], ['olivia', olivia]] as const) await settled(sessions[user]!, token, ['running']);
    expect(await secretFile(sessions.dana!, 'api_token')).toBe(DANA_SECRET);
    expect(await secretFile(sessions.gus!, 'api_token')).toBe(GUS_SECRET);
    // Olivia filled nothing: her session has no such file.
    expect(await secretFile(sessions.olivia!, 'api_token')).toEqual({ error: 'ENOENT' });
    const dir = join(dataDir, sessions.dana!, 'secrets');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'api_token')).mode & 0o777).toBe(0o400);
    expect((await call(`${p.api}/sessions`, { method: 'POST', token: nora, body: { launcherId } })).status).toBe(404);
  });

  it('keeps no secret file while hibernated, and writes it again on resume', async () => {
    expect((await call(`${p.api}/sessions/${sessions.dana}`, { method: 'PATCH', token: dana, body: { state: 'hibernated' } })).status).toBe(200);
    await settled(sessions.dana!, dana, ['hibernated']);
    expect(existsSync(join(dataDir, sessions.dana!, 'secrets'))).toBe(false);
    expect((await call(`${p.api}/sessions/${sessions.dana}`, { method: 'PATCH', token: dana, body: { state: 'running' } })).status).toBe(200);
    await settled(sessions.dana!, dana, ['running']);
    expect(await secretFile(sessions.dana!, 'api_token')).toBe(DANA_SECRET);
  });

  it('the values are in no API answer, no event, no log line, and sealed in the tables', async () => {
    const answers = await Promise.all([
      call(`${p.api}/user/secrets`, { token: dana }),
      call(`${p.api}/user/secrets/${danaSecret}`, { token: dana }),
      call(`${p.api}/projects/701/secret-slots`, { token: dana }),
      call(`${p.api}/sessions`, { token: dana }),
      call(`${p.api}/sessions`, { token: gus }),
    ]);
    for (const a of answers) expect(JSON.stringify(a.body)).not.toMatch(new RegExp(`${DANA_SECRET}|${GUS_SECRET}`));
    for (const service of [p.environments, p.gateway, p.services.sessions!]) expect(service.logs()).not.toMatch(new RegExp(`${DANA_SECRET}|${GUS_SECRET}`));
    const nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    try {
      const messages = await readStream(nc, 'SESSIONS', 'sessions.>');
      expect(messages.length).toBeGreaterThan(0);
      expect(JSON.stringify(messages)).not.toMatch(new RegExp(`${DANA_SECRET}|${GUS_SECRET}`));
    } finally {
      await nc.close();
    }
    const { rows } = await db.query(
      `SELECT string_agg(sealed, ' ') AS t FROM sessions.user_secrets UNION ALL SELECT string_agg(coalesce(secret_env, '') || spec::text, ' ') FROM sessions.sessions`,
    );
    for (const row of rows) {
      expect(row.t).toContain('lp1.');
      expect(row.t).not.toMatch(new RegExp(`${DANA_SECRET}|${GUS_SECRET}`));
    }
  });

  it('deleting a secret empties the slots it filled', async () => {
    expect((await call(`${p.api}/user/secrets/${gusSecret}`, { method: 'DELETE', token: gus })).status).toBe(204);
    const asGus = await call(`${p.api}/projects/701/secret-slots`, { token: gus });
    expect(asGus.body.items.find((s: { id: string }) => s.id === slotId).secretId).toBeNull();
  });
});
