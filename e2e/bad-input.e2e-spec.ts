import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { devSigningKey } from '../tools/dev/dev-key.js';
import { killWorkloads } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';

/**
 * Every kind of bad input a client can send gets a 4xx problem+json that says what to fix,
 * never a 500, and nothing already stored is lost.
 */
describe('bad input through the gateway', () => {
  let p: TestPlatform;
  let admin: string, dev: string;
  let environmentId: string;
  let launcherId: string;
  let defaultPoolId: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'lp-bad-input-'));

  beforeAll(async () => {
    p = await startPlatform({ sessions: { RUNTIME_DATA_DIR: dataDir } }, { services: ['sessions'] });
    admin = await p.token('root', true);
    dev = await p.token('dave');
    await call(`${p.api}/projects/7`, { method: 'PUT', token: admin, body: { path: 'g/p', name: 'P', visibility: 'private' } });
    await call(`${p.api}/projects/7/members/dave`, { method: 'PUT', token: admin, body: { role: 'developer' } });
    environmentId = (await call(`${p.api}/environments`, { token: dev })).body.items[0].id;
    const launcher = await call(`${p.api}/projects/7/launchers`, {
      method: 'POST',
      token: dev,
      body: { name: 'Notebook', kind: 'session', environment: { kind: 'global', id: environmentId } },
    });
    expect(launcher.status).toBe(201);
    launcherId = launcher.body.id;
    defaultPoolId = (await call(`${p.api}/resource-pools`, { token: dev })).body.items[0].id;
  });

  afterAll(async () => {
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = (overrides: Record<string, unknown>) => ({ name: 'R', image: 'docker.io/rocker/rstudio:4.4', port: 8787, ...overrides });
  // Lazy: the environment id is known only once beforeAll has run.
  const launcher = (overrides: Record<string, unknown>) => () => ({ name: 'L', kind: 'session', environment: { kind: 'global', id: environmentId }, ...overrides });

  type Case = {
    name: string;
    status: number;
    method?: string;
    path: () => string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
    token?: () => Promise<string | undefined> | string | undefined;
    detail: RegExp;
  };

  const cases: Case[] = [
    { name: 'malformed JSON', status: 400, method: 'POST', path: () => '/environments', rawBody: '{"name": ', headers: { 'content-type': 'application/json' }, detail: /not valid JSON/ },
    { name: 'a JSON array instead of an object', status: 400, method: 'POST', path: () => '/environments', body: [1, 2], detail: /expected object/i },
    { name: 'a number where a port belongs', status: 400, method: 'POST', path: () => '/environments', body: env({ port: 'eighty' }), detail: /port/ },
    { name: 'a port out of range', status: 400, method: 'POST', path: () => '/environments', body: env({ port: 70000 }), detail: /port/ },
    { name: 'an unknown field', status: 400, method: 'POST', path: () => '/environments', body: env({ colour: 'blue' }), detail: /unknown field: colour/ },
    { name: 'a missing name', status: 400, method: 'POST', path: () => '/environments', body: { image: 'python:3.12', port: 1 }, detail: /name/ },
    { name: 'an empty name', status: 400, method: 'POST', path: () => '/environments', body: env({ name: '   ' }), detail: /name/ },
    { name: 'an oversize body', status: 413, method: 'POST', path: () => '/environments', body: env({ description: 'x'.repeat(300 * 1024) }), detail: /larger than/ },
    { name: 'a body that is not JSON', status: 415, method: 'POST', path: () => '/environments', rawBody: 'name=R', headers: { 'content-type': 'application/x-www-form-urlencoded' }, detail: /must be JSON/ },
    { name: 'an uppercase repository', status: 400, method: 'POST', path: () => '/environments', body: env({ image: 'quay.io/Jupyter/notebook:1' }), detail: /repository.*lowercase/ },
    { name: 'an image without tag or digest', status: 400, method: 'POST', path: () => '/environments', body: env({ image: 'quay.io/jupyter/notebook' }), detail: /no tag or digest/ },
    { name: 'a short digest', status: 400, method: 'POST', path: () => '/environments', body: env({ image: 'alpine@sha256:abcd' }), detail: /digest sha256 must be exactly 64/ },
    { name: 'a bad registry port', status: 400, method: 'POST', path: () => '/environments', body: env({ image: 'registry.example.com:99999/a:1' }), detail: /registry port/ },
    { name: 'a bad registry host', status: 400, method: 'POST', path: () => '/environments', body: env({ image: 'bad_host.example.com/a:1' }), detail: /registry host/ },
    { name: 'an environment id that is not a UUID', status: 400, path: () => '/environments/not-a-uuid', detail: /environment id.*UUID/ },
    { name: 'a launcher id that is not a UUID', status: 400, method: 'PATCH', path: () => '/launchers/42', body: { name: 'x' }, detail: /launcher id.*UUID/ },
    { name: 'a project id with spaces', status: 400, path: () => '/projects/a%20b/launchers', detail: /project id/ },
    { name: 'an unknown launcher kind', status: 400, method: 'POST', path: () => '/projects/7/launchers', body: launcher({ kind: 'vm' }), detail: /kind/ },
    { name: 'a launcher environment without kind', status: 400, method: 'POST', path: () => '/projects/7/launchers', body: () => ({ name: 'L', kind: 'session', environment: { id: environmentId } }), detail: /environment/ },
    { name: 'a custom environment without port', status: 400, method: 'POST', path: () => '/projects/7/launchers', body: launcher({ environment: { kind: 'custom', image: 'python:3.12' } }), detail: /port/ },
    { name: 'a launcher naming no existing environment', status: 404, method: 'POST', path: () => '/projects/7/launchers', body: launcher({ environment: { kind: 'global', id: '00000000-0000-4000-8000-000000000000' } }), detail: /global environment .* was not found/ },
    { name: 'a duplicate launcher name', status: 409, method: 'POST', path: () => '/projects/7/launchers', body: launcher({ name: 'notebook' }), detail: /already has a launcher named/ },
    { name: 'an empty update', status: 400, method: 'PATCH', path: () => `/launchers/${launcherId}`, body: {}, detail: /update is empty/ },
    { name: 'isDefault: false', status: 400, method: 'PATCH', path: () => `/launchers/${launcherId}`, body: { isDefault: false }, detail: /isDefault: true on the new default/ },
    { name: 'a repository that is not a git remote', status: 400, method: 'PUT', path: () => '/projects/8', body: { path: 'g/q', name: 'Q', visibility: 'public', repositories: [{ url: 'ftp://x/y' }] }, detail: /must be a git remote/ },
    { name: 'two repositories cloned into one directory', status: 400, method: 'PUT', path: () => '/projects/8', body: { path: 'g/q', name: 'Q', visibility: 'public', repositories: [{ url: 'https://a.example/g/data.git' }, { url: 'git@b.example:h/data.git' }] }, detail: /two repositories would be cloned into \/work\/data/ },
    { name: 'an uppercase keyword', status: 400, method: 'POST', path: () => '/environments', body: env({ keywords: ['Python'] }), detail: /keywords are lowercase/ },
    { name: 'a relative default URL', status: 400, method: 'POST', path: () => '/environments', body: env({ defaultUrl: 'lab' }), detail: /URL path starting with/ },
    { name: 'a negative uid', status: 400, method: 'POST', path: () => '/environments', body: env({ uid: -1 }), detail: /uid/ },
    { name: 'a bad environment variable name', status: 400, method: 'POST', path: () => '/environments', body: env({ env: { '1BAD': 'x' } }), detail: /environment variable names/ },
    { name: 'an unknown query parameter', status: 400, path: () => '/environments?colour=blue', detail: /unknown field: colour/ },
    { name: 'an unknown member role', status: 400, method: 'PUT', path: () => '/projects/7/members/eve', body: { role: 'boss' }, detail: /role/ },
    { name: 'an unknown project visibility', status: 400, method: 'PUT', path: () => '/projects/8', body: { path: 'g/q', name: 'Q', visibility: 'secret' }, detail: /visibility/ },
    { name: 'a missing token', status: 401, path: () => '/environments', token: () => undefined, detail: /missing bearer token/ },
    { name: 'a non-Bearer Authorization header', status: 401, path: () => '/environments', token: () => undefined, headers: { authorization: 'Token abc' }, detail: /must be "Bearer <token>"/ },
    { name: 'a token that is not a JWT', status: 401, path: () => '/environments', token: () => 'not.a.jwt', detail: /not a well-formed JWT|could not be verified/ },
    {
      name: 'an expired token',
      status: 401,
      path: () => '/environments',
      token: () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('dave').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(devSigningKey())),
      detail: /token expired at/,
    },
    {
      name: 'a token signed with another key',
      status: 401,
      path: () => '/environments',
      token: () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('dave').setExpirationTime('1h').sign(new TextEncoder().encode('another-key-another-key-another-key!')),
      detail: /signature is not valid/,
    },
    { name: 'an unsigned token (alg none)', status: 401, path: () => '/environments', token: () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"dave"}').toString('base64url')}.`, detail: /algorithm|well-formed|verified/ },
    { name: 'a session for a launcher id that is not a UUID', status: 400, method: 'POST', path: () => '/sessions', body: { launcherId: 'notebook' }, detail: /launcherId: must be a UUID/ },
    { name: 'a session with an unknown field', status: 400, method: 'POST', path: () => '/sessions', body: () => ({ launcherId, gpu: true }), detail: /unknown field: gpu/ },
    { name: 'a session for a launcher that does not exist', status: 404, method: 'POST', path: () => '/sessions', body: () => ({ launcherId: randomUUID() }), detail: /launcher .* was not found/ },
    { name: 'a session with a resource class that does not exist', status: 404, method: 'POST', path: () => '/sessions', body: () => ({ launcherId, resourceClassId: 'gigantic' }), detail: /resource class "gigantic" does not exist/ },
    { name: 'a session state that is not one', status: 400, method: 'PATCH', path: () => `/sessions/${randomUUID()}`, body: { state: 'paused' }, detail: /state must be "running" \(resume\) or "hibernated"/ },
    { name: 'a session id that is not a UUID', status: 400, path: () => '/sessions/my-notebook', detail: /session id: must be a UUID/ },
    { name: 'a session that is not the caller’s', status: 404, path: () => `/sessions/${randomUUID()}`, detail: /was not found among your sessions/ },
    { name: 'a log line count that is not a number', status: 400, path: () => `/sessions/${randomUUID()}/logs?lines=all`, detail: /lines/ },
    { name: 'a resource pool from a non-administrator', status: 403, method: 'POST', path: () => '/resource-pools', body: { name: 'Mine', quota: { cpu: 1, memoryGb: 1, gpu: 0 } }, detail: /only administrators can create resource pools/ },
    { name: 'a resource pool with a negative quota', status: 400, method: 'POST', path: () => '/resource-pools', token: () => admin, body: { name: 'Neg', quota: { cpu: -1, memoryGb: 1, gpu: 0 } }, detail: /cpu cannot be negative/ },
    { name: 'an empty resource class update', status: 400, method: 'PATCH', path: () => '/resource-classes/small', token: () => admin, body: {}, detail: /the update is empty/ },
    { name: 'deleting the default resource pool', status: 409, method: 'DELETE', path: () => `/resource-pools/${defaultPoolId}`, token: () => admin, detail: /is the default pool: make another pool the default first/ },
    { name: 'an unknown route', status: 404, path: () => '/nothing-here', detail: /no route GET/ },
  ];

  it.each(cases)('$name gets $status problem+json', async (c) => {
    const token = c.token ? await c.token() : dev;
    const res = await call(`${p.api}${c.path()}`, {
      method: c.method ?? 'GET',
      ...(token ? { token } : {}),
      ...(c.body !== undefined ? { body: typeof c.body === 'function' ? (c.body as () => unknown)() : c.body } : {}),
      ...(c.rawBody !== undefined ? { rawBody: c.rawBody } : {}),
      ...(c.headers ? { headers: c.headers } : {}),
    });
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(`${res.status} ${res.body.detail}`).toMatch(c.detail);
    expect(res.body).toMatchObject({ status: c.status, title: expect.any(String), type: expect.stringMatching(/^https:\/\/launchpad\.dev\/problems\//) });
    expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
    expect(res.status).toBe(c.status);
  });

  it('covers at least 25 kinds of bad input', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it('keeps a caller-supplied request id, so a client can correlate its logs with ours', async () => {
    const res = await call(`${p.api}/environments/nope`, { token: dev, headers: { 'x-request-id': 'client-req-42' } });
    expect(res.headers.get('x-request-id')).toBe('client-req-42');
    expect(res.body.requestId).toBe('client-req-42');
  });

  it('lost nothing already stored', async () => {
    const launchers = await call(`${p.api}/projects/7/launchers`, { token: dev });
    expect(launchers.body.items.map((l: { id: string; name: string }) => [l.id, l.name])).toEqual([[launcherId, 'Notebook']]);
    const environments = await call(`${p.api}/environments`, { token: dev });
    expect(environments.body.items.map((e: { name: string }) => e.name)).toEqual(['Python/Jupyter']);
    expect((await call(`${p.api}/resource-pools`, { token: dev })).body.items.map((x: { name: string; classes: { id: string }[] }) => [x.name, x.classes.map((c) => c.id)])).toEqual([['Public', ['small']]]);
    expect(p.gateway.logs()).not.toMatch(/"statusCode":5\d\d/);
  });
});
