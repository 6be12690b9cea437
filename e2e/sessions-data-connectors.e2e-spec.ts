import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killWorkloads, ROOT, waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');
const PASSWORD = 'webdav-pw-3b9f01c4';

/** Mount points under a directory, from the kernel's own list. */
const mountsUnder = (dir: string) =>
  readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(dir));

/** A project's data connector to a real WebDAV server (`rclone serve webdav`, started here), mounted into sessions with rclone. */
describe('data connectors', () => {
  let p: TestPlatform;
  let dataDir: string;
  let storeDir: string;
  let server: ChildProcess;
  let url: string;
  let admin: string, dana: string, gus: string;
  let connectorId: string;
  let launcherId: string;
  let gusSession: string;
  let ownConnectorId: string;

  const settled = (id: string, token: string, statuses: string[]) =>
    waitFor(
      `session ${id} to be ${statuses.join(' or ')}`,
      async () => {
        const res = await call(`${p.api}/sessions/${id}`, { token });
        return statuses.includes(res.body?.status) ? res.body : undefined;
      },
      90_000,
    );

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-dc-'));
    storeDir = mkdtempSync(join(tmpdir(), 'lp-dc-store-'));
    mkdirSync(join(storeDir, 'survey'));
    writeFileSync(join(storeDir, 'survey', 'answers.csv'), 'id,answer\n1,yes\n');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawn('rclone', ['serve', 'webdav', storeDir, '--addr', `127.0.0.1:${port}`, '--user', 'dana', '--pass', PASSWORD], { stdio: 'ignore' });
    await waitFor('the WebDAV server', async () => (await fetch(url).catch(() => undefined))?.status === 401);
    p = await startPlatform({ sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '1000', LEADER_ELECTION_INTERVAL_MS: '500' } }, { services: ['sessions'] });
    [admin, dana, gus] = await Promise.all([p.token('root', true), p.token('dana'), p.token('gus')]);
    expect((await call(`${p.api}/projects/801`, { method: 'PUT', token: admin, body: { path: 'lab/survey', name: 'Survey', visibility: 'private' } })).status).toBe(200);
    for (const [user, role] of [['dana', 'developer'], ['gus', 'guest']] as const) {
      expect((await call(`${p.api}/projects/801/members/${user}`, { method: 'PUT', token: admin, body: { role } })).status).toBe(200);
    }
    const launcher = await call(`${p.api}/projects/801/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'Notebook', kind: 'session', environment: { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: [process.execPath], args: [PROGRAM] } },
    });
    expect(launcher.status).toBe(201);
    launcherId = launcher.body.id;
  }, 120_000);

  afterAll(async () => {
    await p?.stop();
    killWorkloads(dataDir);
    for (const point of mountsUnder(dataDir)) execFileSync('fusermount3', ['-u', '-z', point]);
    rmSync(dataDir, { recursive: true, force: true });
    server?.kill();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it('lets developers declare a connector, refuses bad ones, and authorises every route', async () => {
    const body = { name: 'Survey data', storageType: 'webdav', configuration: { url, vendor: 'other', user: 'dana' }, sourcePath: 'survey', targetPath: 'survey' };
    expect((await call(`${p.api}/projects/801/data-connectors`, { method: 'POST', token: gus, body })).status).toBe(403);
    expect((await call(`${p.api}/projects/801/data-connectors`, { method: 'POST', token: await p.token('nora'), body })).status).toBe(404);
    expect((await call(`${p.api}/projects/801/data-connectors`, { method: 'POST', body })).status).toBe(401);
    const created = await call(`${p.api}/projects/801/data-connectors`, { method: 'POST', token: dana, body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ readonly: true, targetPath: 'survey', credentials: {} });
    connectorId = created.body.id;
    for (const bad of [{ ...body, name: 'x', targetPath: '../etc' }, { ...body, name: 'y', storageType: 'Web DAV' }, { ...body, name: 'z', configuration: { URL: url } }]) {
      const res = await call(`${p.api}/projects/801/data-connectors`, { method: 'POST', token: dana, body: bad });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await call(`${p.api}/projects/801/data-connectors`, { method: 'POST', token: dana, body: { ...body, name: 'Again' } })).status).toBe(409);
    // rclone runs as the sessions service: nothing that would run a program there, read its files
    // or lend it its cloud identity, whether a developer declares it or a member's credential names it.
    for (const bad of [
      { ...body, name: 'cmd', targetPath: 'cmd', configuration: { url, bearer_token_command: 'touch /tmp/lp-owned' } },
      { ...body, name: 'disk', targetPath: 'disk', storageType: 'local', sourcePath: '/' },
      { ...body, name: 'alias', targetPath: 'alias', storageType: 'alias', configuration: { remote: ':webdav,bearer_token_command=id:' } },
      { ...body, name: 'key', targetPath: 'key', storageType: 'sftp', configuration: { host: '127.0.0.1', key_file: '/root/.ssh/id_ed25519' } },
    ]) {
      const res = await call(`${p.api}/projects/801/data-connectors`, { method: 'POST', token: dana, body: bad });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await call(`${p.api}/projects/801/data-connectors/${connectorId}`, { method: 'PATCH', token: dana, body: { configuration: { url, bearer_token_command: 'id' } } })).status).toBe(400);
    const guestSecret = await call(`${p.api}/user/secrets`, { method: 'POST', token: gus, body: { name: 'cmd', value: 'touch /tmp/lp-owned', kind: 'storage' } });
    expect(guestSecret.status).toBe(201);
    const named = await call(`${p.api}/projects/801/data-connectors/${connectorId}/credentials`, { method: 'PUT', token: gus, body: { secrets: { bearer_token_command: guestSecret.body.id } } });
    expect(named.status).toBe(400);
    expect(named.body.detail ?? JSON.stringify(named.body)).toMatch(/bearer_token_command/);
    expect((await call(`${p.api}/projects/801/data-connectors`, { token: gus })).status).toBe(200);
    expect((await call(`${p.api}/projects/801/data-connectors`, { token: await p.token('nora') })).status).toBe(404);
    expect((await call(`${p.api}/projects/801/data-connectors/${connectorId}`, { method: 'PATCH', token: gus, body: { readonly: false } })).status).toBe(403);
    expect((await call(`${p.api}/projects/801/data-connectors/${connectorId}`, { method: 'DELETE', token: gus })).status).toBe(403);
  });

  it('fails the launch with rclone’s own message when the credentials are wrong', async () => {
    const wrong = await call(`${p.api}/user/secrets`, { method: 'POST', token: dana, body: { name: 'webdav', value: 'not-the-password', kind: 'storage' } });
    expect(wrong.status).toBe(201);
    const general = await call(`${p.api}/user/secrets`, { method: 'POST', token: dana, body: { name: 'general one', value: 'x' } });
    expect((await call(`${p.api}/projects/801/data-connectors/${connectorId}/credentials`, { method: 'PUT', token: dana, body: { secrets: { pass: general.body.id } } })).status).toBe(404);
    const set = await call(`${p.api}/projects/801/data-connectors/${connectorId}/credentials`, { method: 'PUT', token: dana, body: { secrets: { pass: wrong.body.id } } });
    expect(set.status).toBe(200);
    expect(set.body.credentials).toEqual({ pass: wrong.body.id });
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId } });
    expect(res.status).toBe(201);
    const failed = await settled(res.body.id, dana, ['failed']);
    expect(failed.message).toMatch(/data connector "Survey data" \(webdav\) could not be read: the storage refused the credentials or is not reachable; rclone said: .*401 Unauthorized/);
    expect(mountsUnder(join(dataDir, res.body.id))).toEqual([]);
    // With the right password, the same session starts on retry.
    expect((await call(`${p.api}/user/secrets/${wrong.body.id}`, { method: 'PATCH', token: dana, body: { value: PASSWORD } })).status).toBe(200);
    expect((await call(`${p.api}/sessions/${res.body.id}`, { method: 'PATCH', token: dana, body: { state: 'running' } })).status).toBe(200);
    await settled(res.body.id, dana, ['running']);
    const work = join(dataDir, res.body.id, 'work');
    expect(readFileSync(join(work, 'survey', 'answers.csv'), 'utf8')).toBe('id,answer\n1,yes\n');
    if (process.getuid?.() === 0) {
      // Run as root, the session is a uid of its own: the mount is its, and it reads it (another uid may not).
      const uid = String(statSync(work).uid);
      const as = (who: string) => spawnSync('setpriv', ['--reuid', who, '--regid', who, '--clear-groups', 'cat', join(work, 'survey', 'answers.csv')], { encoding: 'utf8' });
      expect(as(uid).stdout).toBe('id,answer\n1,yes\n');
      expect(as(String(Number(uid) + 1)).stderr).toMatch(/Permission denied/);
    }
    // Read-only by default: writing is refused by the mount, and the storage is unchanged.
    expect(() => writeFileSync(join(work, 'survey', 'new.txt'), 'x')).toThrow(/EROFS|read-only/i);
    expect(existsSync(join(storeDir, 'survey', 'new.txt'))).toBe(false);
    const config = readFileSync(join(dataDir, res.body.id, 'rclone', '0.conf'), 'utf8');
    expect(config).not.toContain(PASSWORD);
    // Hibernating unmounts (and deletes the configuration); deleting leaves the storage's files alone.
    expect((await call(`${p.api}/sessions/${res.body.id}`, { method: 'PATCH', token: dana, body: { state: 'hibernated' } })).status).toBe(200);
    await settled(res.body.id, dana, ['hibernated']);
    expect(mountsUnder(join(dataDir, res.body.id))).toEqual([]);
    expect(existsSync(join(dataDir, res.body.id, 'rclone'))).toBe(false);
    expect((await call(`${p.api}/sessions/${res.body.id}`, { method: 'DELETE', token: dana })).status).toBe(204);
    await waitFor('the session to be gone', async () => (await call(`${p.api}/sessions/${res.body.id}`, { token: dana })).status === 404);
    expect(readFileSync(join(storeDir, 'survey', 'answers.csv'), 'utf8')).toBe('id,answer\n1,yes\n');
    for (const service of [p.gateway, p.services.sessions!, p.environments]) expect(service.logs()).not.toContain(PASSWORD);
  });

  it('a launch can skip a connector (dataConnectorsOverrides); one naming no connector is refused', async () => {
    const refused = await call(`${p.api}/sessions`, { method: 'POST', token: gus, body: { launcherId, dataConnectorsOverrides: [{ dataConnectorId: '00000000-0000-4000-8000-000000000000', skip: true }] } });
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe('DATA_CONNECTOR_NOT_FOUND');
    // Gus has no credentials for it; skipping it, his session starts without /work/survey.
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: gus, body: { launcherId, dataConnectorsOverrides: [{ dataConnectorId: connectorId, skip: true }] } });
    expect(res.status).toBe(201);
    gusSession = res.body.id;
    await settled(res.body.id, gus, ['running']);
    expect(existsSync(join(dataDir, res.body.id, 'work', 'survey'))).toBe(false);
  });

  const newLauncher = async (projectId: string, name: string) => {
    const launcher = await call(`${p.api}/projects/${projectId}/launchers`, {
      method: 'POST',
      token: dana,
      body: { name, kind: 'session', environment: { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: [process.execPath], args: [PROGRAM] } },
    });
    expect(launcher.status).toBe(201);
    return launcher.body.id as string;
  };

  it('a user’s own connector: only its owner sees or changes it, with the same rules as a project’s (the matrix)', async () => {
    const pw = await call(`${p.api}/user/secrets`, { method: 'POST', token: dana, body: { name: 'my dav', value: PASSWORD, kind: 'storage' } });
    expect(pw.status).toBe(201);
    const body = { name: 'My copy', storageType: 'webdav', configuration: { url, vendor: 'other', user: 'dana' }, sourcePath: 'survey', targetPath: 'mine', credentials: { pass: pw.body.id } };
    const created = await call(`${p.api}/user/data-connectors`, { method: 'POST', token: dana, body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ userId: 'dana', readonly: true, targetPath: 'mine', credentials: { pass: pw.body.id } });
    expect(created.body.projectId).toBeUndefined();
    ownConnectorId = created.body.id;
    const gusSecret = (await call(`${p.api}/user/secrets?kind=storage`, { token: gus })).body.items[0].id as string;
    for (const [bad, status] of [
      [{ ...body, name: 'x', targetPath: '../etc' }, 400],
      [{ ...body, name: 'y', configuration: { url, bearer_token_command: 'touch /tmp/lp-owned' } }, 400],
      [{ ...body, name: 'z', storageType: 'local' }, 400],
      [{ ...body, name: 'w', credentials: { bearer_token_command: pw.body.id } }, 400],
      // Credentials are the owner's own storage secrets, never another user's.
      [{ ...body, name: 'v', targetPath: 'v', credentials: { pass: gusSecret } }, 404],
      [{ ...body, targetPath: 'other' }, 409],
      [{ ...body, name: 'Other' }, 409],
    ] as const) {
      const res = await call(`${p.api}/user/data-connectors`, { method: 'POST', token: dana, body: bad });
      if (res.status !== status) throw new Error(`${JSON.stringify(bad)}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const scratch = (await call(`${p.api}/user/data-connectors`, { method: 'POST', token: dana, body: { ...body, name: 'Scratch', targetPath: 'scratch' } })).body.id as string;
    const matrix: [string, string, unknown, Record<string, number>][] = [
      ['GET', '/user/data-connectors', undefined, { anonymous: 401, gus: 200, dana: 200 }],
      ['POST', '/user/data-connectors', { name: 'n', storageType: 'webdav', targetPath: 'n' }, { anonymous: 401 }],
      ['GET', `/user/data-connectors/${ownConnectorId}`, undefined, { anonymous: 401, gus: 404, admin: 404, dana: 200 }],
      ['PATCH', `/user/data-connectors/${ownConnectorId}`, { readonly: true }, { anonymous: 401, gus: 404, admin: 404, dana: 200 }],
      ['DELETE', `/user/data-connectors/${scratch}`, undefined, { anonymous: 401, gus: 404, admin: 404, dana: 204 }],
      // Nor is it any project's: the project routes do not reach it.
      ['PATCH', `/projects/801/data-connectors/${ownConnectorId}`, { readonly: false }, { dana: 404 }],
      ['PUT', `/projects/801/data-connectors/${ownConnectorId}/credentials`, { secrets: { pass: pw.body.id } }, { dana: 404 }],
    ];
    const tokens: Record<string, string | undefined> = { anonymous: undefined, admin, dana, gus };
    for (const [method, path, reqBody, expected] of matrix) {
      for (const [who, status] of Object.entries(expected)) {
        const res = await call(`${p.api}${path}`, { method, ...(tokens[who] ? { token: tokens[who] } : {}), ...(reqBody !== undefined ? { body: reqBody } : {}) });
        if (res.status !== status) throw new Error(`${method} ${path} as ${who}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
        if (status >= 400) expect(res.headers.get('content-type')).toContain('application/problem+json');
      }
    }
    expect((await call(`${p.api}/user/data-connectors`, { token: gus })).body.items).toEqual([]);
    expect((await call(`${p.api}/user/data-connectors`, { token: dana })).body.items.map((c: { name: string }) => c.name)).toEqual(['My copy']);
    expect((await call(`${p.api}/projects/801/data-connectors`, { token: dana })).body.items.map((c: { name: string }) => c.name)).toEqual(['Survey data']);
    const bad = await call(`${p.api}/user/data-connectors/${ownConnectorId}`, { method: 'PATCH', token: dana, body: { credentials: { key_file: pw.body.id } } });
    expect(bad.status).toBe(400);
  });

  it('mounts a user’s own connector into every session of theirs, in any project, beside the project’s, and into no other member’s', async () => {
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId } });
    expect(res.status).toBe(201);
    await settled(res.body.id, dana, ['running']);
    const work = join(dataDir, res.body.id, 'work');
    expect(readFileSync(join(work, 'survey', 'answers.csv'), 'utf8')).toBe('id,answer\n1,yes\n');
    expect(readFileSync(join(work, 'mine', 'answers.csv'), 'utf8')).toBe('id,answer\n1,yes\n');
    expect(() => writeFileSync(join(work, 'mine', 'new.txt'), 'x')).toThrow(/EROFS|read-only/i);
    // Another project, with no connectors of its own: hers is there too.
    expect((await call(`${p.api}/projects/802`, { method: 'PUT', token: admin, body: { path: 'lab/other', name: 'Other', visibility: 'private' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/802/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
    const elsewhere = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: await newLauncher('802', 'Elsewhere') } });
    expect(elsewhere.status).toBe(201);
    await settled(elsewhere.body.id, dana, ['running']);
    expect(readFileSync(join(dataDir, elsewhere.body.id, 'work', 'mine', 'answers.csv'), 'utf8')).toBe('id,answer\n1,yes\n');
    // Gus, another member of the same project, launching after it was made: not in his session.
    expect((await call(`${p.api}/sessions/${gusSession}`, { method: 'DELETE', token: gus })).status).toBe(204);
    await waitFor('gus’s session to be gone', async () => (await call(`${p.api}/sessions/${gusSession}`, { token: gus })).status === 404);
    const his = await call(`${p.api}/sessions`, { method: 'POST', token: gus, body: { launcherId, dataConnectorsOverrides: [{ dataConnectorId: connectorId, skip: true }] } });
    expect(his.status).toBe(201);
    await settled(his.body.id, gus, ['running']);
    expect(existsSync(join(dataDir, his.body.id, 'work', 'mine'))).toBe(false);
    // Nor may he name it in his overrides: to him it does not exist.
    const named = await call(`${p.api}/sessions`, { method: 'POST', token: gus, body: { launcherId: await newLauncher('801', 'Named'), dataConnectorsOverrides: [{ dataConnectorId: ownConnectorId, skip: true }] } });
    expect(named.status).toBe(404);
    expect(named.body.code).toBe('DATA_CONNECTOR_NOT_FOUND');
  });

  it('refuses at launch a project’s and the user’s own connector at one target path, naming both; an override moves one', async () => {
    expect((await call(`${p.api}/user/data-connectors/${ownConnectorId}`, { method: 'PATCH', token: dana, body: { targetPath: 'survey' } })).status).toBe(200);
    const second = await newLauncher('801', 'Second');
    const clash = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: second } });
    expect(clash.status).toBe(409);
    expect(clash.headers.get('content-type')).toContain('application/problem+json');
    expect(clash.body.code).toBe('DATA_CONNECTOR_TARGET_CLASH');
    expect(clash.body.detail).toContain(`the project's data connector "Survey data" (${connectorId})`);
    expect(clash.body.detail).toContain(`your own data connector "My copy" (${ownConnectorId})`);
    const moved = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: second, dataConnectorsOverrides: [{ dataConnectorId: ownConnectorId, targetPath: 'mine-too' }] } });
    expect(moved.status).toBe(201);
    await settled(moved.body.id, dana, ['running']);
    const work = join(dataDir, moved.body.id, 'work');
    expect(readFileSync(join(work, 'survey', 'answers.csv'), 'utf8')).toBe('id,answer\n1,yes\n');
    expect(readFileSync(join(work, 'mine-too', 'answers.csv'), 'utf8')).toBe('id,answer\n1,yes\n');
    for (const service of [p.gateway, p.services.sessions!]) expect(service.logs()).not.toContain(PASSWORD);
  });
});
