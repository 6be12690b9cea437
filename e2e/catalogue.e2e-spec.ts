import { connect } from '@nats-io/transport-node';
import { environmentsRpc } from '@launchpad/contracts';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { readStream } from '../tools/testing/streams.js';
import { waitFor } from '../tools/testing/harness.js';

/** The gateway and the environments service as separate processes, driven over HTTP as a client would. */
describe('environments catalogue through the gateway', () => {
  let p: TestPlatform;
  let admin: string, owner: string, dev: string, guest: string, stranger: string;

  beforeAll(async () => {
    p = await startPlatform();
    [admin, owner, dev, guest, stranger] = await Promise.all([
      p.token('root', true),
      p.token('olivia'),
      p.token('dave'),
      p.token('gus'),
      p.token('nora'),
    ]);
    expect((await call(`${p.api}/projects/101`, { method: 'PUT', token: admin, body: { path: 'lab/private-study', name: 'Private study', visibility: 'private' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/202`, { method: 'PUT', token: admin, body: { path: 'lab/open-data', name: 'Open data', visibility: 'public', repositories: [{ url: 'https://gitlab.example.com/lab/open-data.git' }, { url: 'git@gitlab.example.com:lab/tools', name: 'lab-tools' }] } })).status).toBe(200);
    for (const [user, role] of [['olivia', 'owner'], ['dave', 'developer'], ['gus', 'guest']] as const) {
      expect((await call(`${p.api}/projects/101/members/${user}`, { method: 'PUT', token: admin, body: { role } })).status).toBe(200);
    }
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('names each project repository by the directory it is cloned into', async () => {
    const res = await call(`${p.api}/projects/202`, { token: stranger });
    expect(res.body.repositories).toEqual([
      { url: 'https://gitlab.example.com/lab/open-data.git', name: 'open-data' },
      { url: 'git@gitlab.example.com:lab/tools', name: 'lab-tools' },
    ]);
  });

  const defaultEnvironment = async () => {
    const res = await call(`${p.api}/environments`, { token: stranger });
    return res.body.items.find((e: { isDefault: boolean }) => e.isDefault);
  };
  const sessionLauncher = (name: string, environmentId: string, extra: Record<string, unknown> = {}) => ({
    name,
    kind: 'session',
    environment: { kind: 'global', id: environmentId },
    ...extra,
  });

  it('seeds a default Jupyter environment that every signed-in user can list', async () => {
    const env = await defaultEnvironment();
    expect(env).toMatchObject({ kind: 'global', port: 8888, defaultUrl: '/tree', command: ['jupyter'], auth: { kind: 'jupyter-token' } });
    // Jupyter keeps its own checks: no empty token, no origin allowed but its own, XSRF on.
    expect(env.args.join(' ')).not.toMatch(/token=(\s|$)|allow_origin|disable_check_xsrf/);
    expect(env.image).toMatch(/jupyter/);
    expect(env.keywords).toEqual(expect.arrayContaining(['python', 'jupyter']));
  });

  it('lets only admins create, change and delete global environments', async () => {
    const body = { name: 'PyTorch', image: 'docker.io/pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime', port: 8888, keywords: ['python', 'pytorch'] };
    const refused = await call(`${p.api}/environments`, { method: 'POST', token: owner, body });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('ADMIN_REQUIRED');

    const created = await call(`${p.api}/environments`, { method: 'POST', token: admin, body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'PyTorch', isDefault: false, createdBy: 'root', workingDirectory: '/work' });

    expect((await call(`${p.api}/environments/${created.body.id}`, { method: 'PATCH', token: dev, body: { description: 'x' } })).status).toBe(403);
    expect((await call(`${p.api}/environments/${created.body.id}`, { method: 'DELETE', token: dev })).status).toBe(403);
    const patched = await call(`${p.api}/environments/${created.body.id}`, { method: 'PATCH', token: admin, body: { description: 'GPU deep learning' } });
    expect(patched.status).toBe(200);
    expect(patched.body.description).toBe('GPU deep learning');

    const duplicate = await call(`${p.api}/environments`, { method: 'POST', token: admin, body: { ...body, name: 'pytorch' } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('ENVIRONMENT_NAME_TAKEN');
  });

  it('searches environments by keyword and by text', async () => {
    const byKeyword = await call(`${p.api}/environments?keyword=pytorch`, { token: guest });
    expect(byKeyword.body.items.map((e: { name: string }) => e.name)).toEqual(['PyTorch']);
    const byText = await call(`${p.api}/environments?q=jupyter`, { token: guest });
    expect(byText.body.items.map((e: { name: string }) => e.name)).toContain('Python/Jupyter');
    expect(byText.body.items.map((e: { name: string }) => e.name)).not.toContain('PyTorch');
  });

  it('refuses a launcher to a guest (403) and hides a private project from a non-member (404)', async () => {
    const env = await defaultEnvironment();
    const byGuest = await call(`${p.api}/projects/101/launchers`, { method: 'POST', token: guest, body: sessionLauncher('Notebook', env.id) });
    expect(byGuest.status).toBe(403);
    expect(byGuest.body.code).toBe('INSUFFICIENT_PROJECT_ROLE');
    expect(byGuest.body.detail).toMatch(/developer role or above.*you are guest/);

    const byDev = await call(`${p.api}/projects/101/launchers`, { method: 'POST', token: dev, body: sessionLauncher('Notebook', env.id) });
    expect(byDev.status).toBe(201);
    expect(byDev.body).toMatchObject({ name: 'Notebook', isDefault: true, projectId: '101', environment: { id: env.id } });

    expect((await call(`${p.api}/projects/101/launchers`, { token: guest })).status).toBe(200);
    const hidden = await call(`${p.api}/projects/101/launchers`, { token: stranger });
    expect(hidden.status).toBe(404);
    expect(hidden.body.code).toBe('PROJECT_NOT_FOUND');
    expect((await call(`${p.api}/launchers/${byDev.body.id}`, { token: stranger })).status).toBe(404);
    expect((await call(`${p.api}/projects/101`, { token: stranger })).status).toBe(404);
    const visible = await call(`${p.api}/projects`, { token: stranger });
    expect(visible.body.items.map((x: { id: string }) => x.id)).toEqual(['202']);
  });

  it('lets every signed-in user read a public project but only its developers write to it', async () => {
    const env = await defaultEnvironment();
    expect((await call(`${p.api}/projects/202/launchers`, { token: stranger })).status).toBe(200);
    const refused = await call(`${p.api}/projects/202/launchers`, { method: 'POST', token: stranger, body: sessionLauncher('Mine', env.id) });
    expect(refused.status).toBe(403);
  });

  it('moves the default mark, and hands it on when the default launcher is deleted', async () => {
    const env = await defaultEnvironment();
    const second = await call(`${p.api}/projects/101/launchers`, {
      method: 'POST',
      token: owner,
      body: { name: 'Dashboard', kind: 'app', environment: { kind: 'custom', image: 'ghcr.io/lab/dash:1.2', port: 8050, command: ['python', 'app.py'] }, isDefault: true },
    });
    expect(second.status).toBe(201);
    expect(second.body.environment).toMatchObject({ kind: 'custom', projectId: '101', image: 'ghcr.io/lab/dash:1.2', port: 8050 });
    let list = await call(`${p.api}/projects/101/launchers`, { token: guest });
    expect(list.body.items.filter((l: { isDefault: boolean }) => l.isDefault).map((l: { name: string }) => l.name)).toEqual(['Dashboard']);

    const first = list.body.items.find((l: { name: string }) => l.name === 'Notebook');
    const moved = await call(`${p.api}/launchers/${first.id}`, { method: 'PATCH', token: dev, body: { isDefault: true } });
    expect(moved.status).toBe(200);
    list = await call(`${p.api}/projects/101/launchers`, { token: guest });
    expect(list.body.items.filter((l: { isDefault: boolean }) => l.isDefault).map((l: { name: string }) => l.name)).toEqual(['Notebook']);

    expect((await call(`${p.api}/launchers/${first.id}`, { method: 'DELETE', token: dev })).status).toBe(204);
    list = await call(`${p.api}/projects/101/launchers`, { token: guest });
    expect(list.body.items.map((l: { name: string; isDefault: boolean }) => [l.name, l.isDefault])).toEqual([['Dashboard', true]]);
    expect(env.id).toBeDefined();
  });

  it('refuses to delete a global environment that launchers use, naming them', async () => {
    const env = await defaultEnvironment();
    const pytorch = (await call(`${p.api}/environments?keyword=pytorch`, { token: admin })).body.items[0];
    await call(`${p.api}/projects/202/launchers`, { method: 'POST', token: admin, body: sessionLauncher('Training', pytorch.id) });
    const refused = await call(`${p.api}/environments/${pytorch.id}`, { method: 'DELETE', token: admin });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('ENVIRONMENT_IN_USE');
    expect(refused.body.detail).toContain('"Training" in lab/open-data');
    const defaultRefused = await call(`${p.api}/environments/${env.id}`, { method: 'DELETE', token: admin });
    expect(defaultRefused.status).toBe(409);
    expect(defaultRefused.body.code).toBe('DEFAULT_ENVIRONMENT_REQUIRED');
    expect((await call(`${p.api}/environments/${pytorch.id}`, { token: guest })).status).toBe(200);
  });

  it('publishes every change through the outbox as a versioned event', async () => {
    const nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    try {
      const events = await waitFor('launcher events on the stream', async () => {
        const found = await readStream(nc, 'ENVIRONMENTS', 'environments.launcher.>');
        return found.some((e) => e.subject === 'environments.launcher.deleted') ? found : undefined;
      });
      const created = events.filter((e) => e.subject === 'environments.launcher.created');
      expect(created.map((e) => e.data.data.name).sort()).toEqual(['Dashboard', 'Notebook', 'Training']);
      for (const e of events) {
        // created/updated are v2 since launchers made from code (pin, updateAvailable); deleted is still v1.
        expect(e.data).toMatchObject({ type: e.subject, version: e.subject === 'environments.launcher.deleted' ? 1 : 2 });
        expect(e.headers['nats-msg-id']).toBe(e.data.id);
        expect(e.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
      }
    } finally {
      await nc.close();
    }
  });

  it('shows a change of the catalogue at once to whoever made it, and one made elsewhere as soon as its event arrives', async () => {
    const names = async () => (await call(`${p.api}/environments`, { token: guest })).body.items.map((e: { name: string }) => e.name);
    const before = await names();
    expect(before).not.toContain('Julia');
    // Asked again: answered from the gateway's copy (see EnvironmentList), which the change must drop.
    expect(await names()).toEqual(before);
    const created = await call(`${p.api}/environments`, { method: 'POST', token: admin, body: { name: 'Julia', image: 'docker.io/julia:1.11', port: 8888, keywords: ['julia'] } });
    expect(created.status).toBe(201);
    expect(await names()).toContain('Julia');

    // Another gateway replica's change reaches this one only as the environment's event.
    const nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    try {
      const reply = await nc.request(
        environmentsRpc.updateEnvironment.subject,
        JSON.stringify({ caller: { userId: 'root', admin: true }, id: created.body.id, input: { name: 'Julia 1.11' } }),
        { timeout: 5000 },
      );
      expect(reply.json<{ ok: boolean }>().ok).toBe(true);
    } finally {
      await nc.close();
    }
    // Well within the 5 s the copy is kept at most without an event.
    await waitFor('the rename through another replica', async () => (await names()).includes('Julia 1.11'), 2_000, 20);
  });

  it('answers 304 to a client that holds the current list (If-None-Match), and the new list once it changed', async () => {
    const first = await call(`${p.api}/environments`, { token: guest });
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"/);
    // fetch adds Cache-Control: no-cache to a conditional request unless told otherwise (and then no server answers 304).
    const conditional = { 'if-none-match': etag, 'cache-control': 'max-age=0' };
    const again = await call(`${p.api}/environments`, { token: guest, headers: conditional });
    expect(again.status).toBe(304);
    expect(again.body).toBeUndefined();
    // Not without a valid token, cached or not.
    expect((await call(`${p.api}/environments`, { headers: conditional })).status).toBe(401);
    const julia = first.body.items.find((e: { name: string }) => e.name === 'Julia 1.11');
    expect((await call(`${p.api}/environments/${julia.id}`, { method: 'PATCH', token: admin, body: { description: 'changed' } })).status).toBe(200);
    const changed = await call(`${p.api}/environments`, { token: guest, headers: conditional });
    expect(changed.status).toBe(200);
    expect(changed.body.items.find((e: { id: string }) => e.id === julia.id).description).toBe('changed');
  });

  it('answers a list it keeps as the route does, before Express, with its request id and access line', async () => {
    const token = await p.token('lane-reader');
    // The route (Express and Nest): the token verified and the list kept on the way.
    const routed = await call(`${p.api}/environments`, { token, headers: { 'x-request-id': 'lane-routed' } });
    const kept = await call(`${p.api}/environments`, { token, headers: { 'x-request-id': 'lane-kept' } });
    expect(kept.status).toBe(200);
    expect(kept.body).toEqual(routed.body);
    for (const header of ['content-type', 'content-length', 'etag']) expect(kept.headers.get(header)).toBe(routed.headers.get(header));
    expect(kept.headers.get('x-request-id')).toBe('lane-kept');
    await waitFor('both access lines', async () => /"id":"lane-kept"/.test(p.gateway.logs()) && /"id":"lane-routed"/.test(p.gateway.logs()));
    // A token it has not verified is the route's to verify or refuse, problem+json and all.
    const forged = await call(`${p.api}/environments`, { token: `${token.slice(0, -2)}xx` });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('answers 503 with Retry-After, naming the missing service, when the environments service is down', async () => {
    await p.environments.kill('SIGTERM');
    // A search not asked before: a list asked lately may still be answered from the gateway's copy (5 s at most).
    const res = await call(`${p.api}/environments?keyword=never-asked`, { token: guest });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body.code).toBe('SERVICE_UNAVAILABLE');
    expect(res.body.detail).toMatch(/environments service is not running/);
    await p.environments.start();
    expect((await call(`${p.api}/environments`, { token: guest })).status).toBe(200);
  });
});
