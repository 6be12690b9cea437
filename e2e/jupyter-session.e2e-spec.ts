import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWorkloads, waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { cookieFrom, originFetch, sessionOrigin } from '../tools/testing/origins.js';
import { executeCell, jupyterInstalled } from '../tools/testing/jupyter.js';

/**
 * A new user's first session, on the default environment as seeded: a real Jupyter notebook
 * server (Debian's `jupyter-notebook`, which `.ci/run` installs), reached only through the
 * gateway, running code on a real kernel over its WebSocket.
 */
describe('a Jupyter session from the default environment', () => {
  let p: TestPlatform;
  let dataDir: string;
  let alice: string;

  beforeAll(async () => {
    if (!jupyterInstalled()) {
      throw new Error('jupyter is not installed: install Debian\'s "jupyter-notebook" package (apt-get install jupyter-notebook), as .ci/run does');
    }
    dataDir = mkdtempSync(join(tmpdir(), 'lp-jupyter-'));
    p = await startPlatform({ sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '1000' } }, { services: ['sessions'] });
    const admin = await p.token('root', true);
    alice = await p.token('alice');
    await call(`${p.api}/projects/501`, { method: 'PUT', token: admin, body: { path: 'alice/thesis', name: 'Thesis', visibility: 'private' } });
    await call(`${p.api}/projects/501/members/alice`, { method: 'PUT', token: admin, body: { role: 'owner' } });
  });

  afterAll(async () => {
    await p?.stop();
    if (dataDir) {
      killWorkloads(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('starts, opens through the gateway, runs code on a kernel, hibernates, resumes and is deleted', async () => {
    const environments = await call(`${p.api}/environments`, { token: alice });
    const jupyter = environments.body.items.find((e: { isDefault: boolean }) => e.isDefault);
    const launcher = await call(`${p.api}/projects/501/launchers`, {
      method: 'POST',
      token: alice,
      body: { name: 'Jupyter', kind: 'session', environment: { kind: 'global', id: jupyter.id } },
    });
    expect(launcher.status).toBe(201);
    const started = await call(`${p.api}/sessions`, { method: 'POST', token: alice, body: { launcherId: launcher.body.id } });
    expect(started.status).toBe(201);
    const id = started.body.id as string;
    const running = await waitFor(
      'the notebook server to be running',
      async () => {
        const s = await call(`${p.api}/sessions/${id}`, { token: alice });
        if (s.body.status === 'failed') throw new Error(`session failed: ${s.body.message}`);
        return s.body.status === 'running' ? s.body : undefined;
      },
      90_000,
      250,
    );
    // Its own origin, Jupyter served at its root.
    const origin = sessionOrigin(p.gateway.port, id);
    expect(running.path).toBe('/tree');
    expect(running.url).toBe(`${origin}/tree`);

    // A browser: the URL with the token once, then the cookie.
    const open = await originFetch(`${running.url}?token=${alice}`, { redirect: 'manual' });
    expect(open.status).toBe(303);
    expect(open.headers.get('location')).toBe('/tree');
    const cookie = cookieFrom(open);
    const tree = await originFetch(running.url, { headers: { cookie } });
    expect(tree.status).toBe(200);
    expect(await tree.text()).toMatch(/Jupyter/);

    // As the notebook page does it: from its own origin.
    const kernel = await originFetch(`${origin}/api/kernels`, {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'python3' }),
    });
    expect(kernel.status).toBe(201);
    const { id: kernelId } = (await kernel.json()) as { id: string };

    const channels = `${origin.replace('http', 'ws')}/api/kernels/${kernelId}/channels`;
    const output = await executeCell(channels, { cookie, origin }, 'print(6 * 7)');
    expect(output).toBe('42\n');

    // Jupyter keeps its own authentication on: another process on this machine that finds its port
    // (in /proc, say) is refused without the session's secret, which only the gateway adds.
    const { port } = JSON.parse(readFileSync(join(dataDir, id, 'state.json'), 'utf8')) as { port: number };
    expect((await fetch(`http://127.0.0.1:${port}/api/kernels`)).status).toBe(403);
    const forged = await fetch(`http://127.0.0.1:${port}/api/kernels`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'token guessed' }, body: '{"name":"python3"}' });
    expect(forged.status).toBe(403);
    await expect(executeCell(`ws://127.0.0.1:${port}/api/kernels/${kernelId}/channels`, {}, '1')).rejects.toThrow(/403/);

    // Someone else with a valid token cannot reach the kernel.
    const bob = await p.token('bob');
    await expect(executeCell(`${channels}?token=${bob}`, {}, '1')).rejects.toThrow(/404/);
    // Nor can a page of another origin that the owner's browser visits, cookie and all.
    await expect(executeCell(channels, { cookie, origin: 'http://evil--000000000000.apps.localhost:8080' }, '1')).rejects.toThrow(/403/);

    expect((await call(`${p.api}/sessions/${id}`, { method: 'PATCH', token: alice, body: { state: 'hibernated' } })).status).toBe(200);
    await waitFor('hibernation', async () => (await call(`${p.api}/sessions/${id}`, { token: alice })).body.status === 'hibernated', 30_000);
    expect((await call(`${p.api}/sessions/${id}`, { method: 'PATCH', token: alice, body: { state: 'running' } })).status).toBe(200);
    await waitFor('resumption', async () => (await call(`${p.api}/sessions/${id}`, { token: alice })).body.status === 'running', 90_000, 250);
    expect((await originFetch(running.url, { headers: { cookie } })).status).toBe(200);

    expect((await call(`${p.api}/sessions/${id}`, { method: 'DELETE', token: alice })).status).toBe(204);
    await waitFor('deletion', async () => (await call(`${p.api}/sessions/${id}`, { token: alice })).status === 404, 30_000);
  });
});
