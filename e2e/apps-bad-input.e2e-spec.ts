import { randomUUID } from 'node:crypto';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { originFetch } from '../tools/testing/origins.js';

/** The apps API refuses what it cannot do, with problem+json saying why. */
describe('apps API: bad input', () => {
  let p: TestPlatform;
  let dana: string, rita: string, eve: string;
  let appLauncher: string, sessionLauncher: string;

  beforeAll(async () => {
    p = await startPlatform({}, { services: ['apps'] });
    const admin = await p.token('root', true);
    [dana, rita, eve] = await Promise.all([p.token('dana'), p.token('rita'), p.token('eve')]);
    expect((await call(`${p.api}/projects/901`, { method: 'PUT', token: admin, body: { path: 'lab/rules', name: 'Rules', visibility: 'private' } })).status).toBe(200);
    for (const [user, role] of [['dana', 'developer'], ['rita', 'reporter']]) {
      expect((await call(`${p.api}/projects/901/members/${user}`, { method: 'PUT', token: admin, body: { role } })).status).toBe(200);
    }
    const environment = { kind: 'custom', image: 'ghcr.io/lab/app:1', port: 8000, command: ['true'] };
    appLauncher = (await call(`${p.api}/projects/901/launchers`, { method: 'POST', token: dana, body: { name: 'App', kind: 'app', environment } })).body.id;
    sessionLauncher = (await call(`${p.api}/projects/901/launchers`, { method: 'POST', token: dana, body: { name: 'Notebook', kind: 'session', environment } })).body.id;
  });

  afterAll(async () => {
    await p?.stop();
  });

  const problem = (res: { status: number; body: any; headers: Headers }, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, code });
    return res.body;
  };

  it('answers 404 for a launcher that does not exist, or that the caller cannot see', async () => {
    problem(await call(`${p.api}/apps/${randomUUID()}`, { token: dana }), 404, 'LAUNCHER_NOT_FOUND');
    problem(await call(`${p.api}/apps/${randomUUID()}/activate`, { method: 'POST', token: dana }), 404, 'LAUNCHER_NOT_FOUND');
    // Eve is no member of the private project: to her, its launchers do not exist.
    problem(await call(`${p.api}/apps/${appLauncher}`, { token: eve }), 404, 'LAUNCHER_NOT_FOUND');
  });

  it('answers 409 for a session launcher', async () => {
    const body = problem(await call(`${p.api}/apps/${sessionLauncher}/activate`, { method: 'POST', token: dana }), 409, 'NOT_AN_APP_LAUNCHER');
    expect(body.detail).toMatch(/starts sessions, not an app: start it with POST \/api\/v1\/sessions/);
    problem(await call(`${p.api}/apps/${sessionLauncher}`, { token: dana }), 409, 'NOT_AN_APP_LAUNCHER');
  });

  it('answers 400 naming each bad setting', async () => {
    const body = problem(
      await call(`${p.api}/apps/${appLauncher}/activate`, { method: 'POST', token: dana, body: { minReplicas: 3, maxReplicas: 2, targetConcurrency: 0, access: 'everyone', colour: 'red' } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { path: 'targetConcurrency', message: 'targetConcurrency must be at least 1 request per replica' },
        { path: 'access', message: 'access must be "public" or "members"' },
        { path: '', message: 'unknown field: colour' },
      ]),
    );
    const order = problem(await call(`${p.api}/apps/${appLauncher}/activate`, { method: 'POST', token: dana, body: { minReplicas: 3, maxReplicas: 2 } }), 400, 'VALIDATION_FAILED');
    expect(order.errors).toEqual([{ path: 'minReplicas', message: 'minReplicas cannot be more than maxReplicas' }]);
    // Against the settings it already has, too: maxReplicas defaults to 5.
    const merged = problem(await call(`${p.api}/apps/${appLauncher}/activate`, { method: 'POST', token: dana, body: { minReplicas: 6 } }), 400, 'VALIDATION_FAILED');
    expect(merged.detail).toBe('invalid app settings: minReplicas (6) cannot be more than maxReplicas (5)');
    problem(await call(`${p.api}/apps/${appLauncher}/activate`, { method: 'POST', token: dana, rawBody: '{"minReplicas": ', headers: { 'content-type': 'application/json' } }), 400, 'VALIDATION_FAILED');
    problem(await call(`${p.api}/apps/not-a-uuid`, { token: dana }), 400, 'VALIDATION_FAILED');
    problem(await call(`${p.api}/apps/${appLauncher}/logs?lines=0`, { token: dana }), 400, 'VALIDATION_FAILED');
    problem(await call(`${p.api}/apps/${appLauncher}/logs?follow=yes`, { token: dana }), 400, 'VALIDATION_FAILED');
  });

  it('answers 403 to members below developer, and 401 to nobody', async () => {
    const body = problem(await call(`${p.api}/apps/${appLauncher}/activate`, { method: 'POST', token: rita }), 403, 'INSUFFICIENT_PROJECT_ROLE');
    expect(body.detail).toBe('to activate app "App" you need the developer role or above in project lab/rules; you are a reporter');
    problem(await call(`${p.api}/apps/${appLauncher}/deactivate`, { method: 'POST', token: rita }), 403, 'INSUFFICIENT_PROJECT_ROLE');
    problem(await call(`${p.api}/apps/${appLauncher}/logs`, { token: rita }), 403, 'INSUFFICIENT_PROJECT_ROLE');
    // Reading the app's state is for anyone who can see the project.
    expect(await call(`${p.api}/apps/${appLauncher}`, { token: rita })).toMatchObject({ status: 200, body: { status: 'inactive' } });
    problem(await call(`${p.api}/apps/${appLauncher}`), 401, 'UNAUTHENTICATED');
  });

  it('refuses a bad bearer token on a share link, where no token at all is fine', async () => {
    const res = await call(`http://anything.apps.localhost:${p.gateway.port}/`, { headers: { authorization: 'Bearer nonsense' } });
    problem(res, 401, 'UNAUTHENTICATED');
    expect((await originFetch(`http://anything.apps.localhost:${p.gateway.port}/`)).status).toBe(404);
  });
});
