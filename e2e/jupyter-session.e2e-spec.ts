import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWorkloads, waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { cookieFrom, originFetch, originWebSocket, sessionOrigin } from '../tools/testing/origins.js';

function jupyterInstalled(): boolean {
  try {
    execFileSync('jupyter', ['notebook', '--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

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
    const output = await runOnKernel(channels, { cookie, origin }, 'print(6 * 7)');
    expect(output).toBe('42\n');

    // Jupyter keeps its own authentication on: another process on this machine that finds its port
    // (in /proc, say) is refused without the session's secret, which only the gateway adds.
    const { port } = JSON.parse(readFileSync(join(dataDir, id, 'state.json'), 'utf8')) as { port: number };
    expect((await fetch(`http://127.0.0.1:${port}/api/kernels`)).status).toBe(403);
    const forged = await fetch(`http://127.0.0.1:${port}/api/kernels`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'token guessed' }, body: '{"name":"python3"}' });
    expect(forged.status).toBe(403);
    await expect(runOnKernel(`ws://127.0.0.1:${port}/api/kernels/${kernelId}/channels`, {}, '1')).rejects.toThrow(/403/);

    // Someone else with a valid token cannot reach the kernel.
    const bob = await p.token('bob');
    await expect(runOnKernel(`${channels}?token=${bob}`, {}, '1')).rejects.toThrow(/404/);
    // Nor can a page of another origin that the owner's browser visits, cookie and all.
    await expect(runOnKernel(channels, { cookie, origin: 'http://evil--000000000000.apps.localhost:8080' }, '1')).rejects.toThrow(/403/);

    expect((await call(`${p.api}/sessions/${id}`, { method: 'PATCH', token: alice, body: { state: 'hibernated' } })).status).toBe(200);
    await waitFor('hibernation', async () => (await call(`${p.api}/sessions/${id}`, { token: alice })).body.status === 'hibernated', 30_000);
    expect((await call(`${p.api}/sessions/${id}`, { method: 'PATCH', token: alice, body: { state: 'running' } })).status).toBe(200);
    await waitFor('resumption', async () => (await call(`${p.api}/sessions/${id}`, { token: alice })).body.status === 'running', 90_000, 250);
    expect((await originFetch(running.url, { headers: { cookie } })).status).toBe(200);

    expect((await call(`${p.api}/sessions/${id}`, { method: 'DELETE', token: alice })).status).toBe(204);
    await waitFor('deletion', async () => (await call(`${p.api}/sessions/${id}`, { token: alice })).status === 404, 30_000);
  });
});

/** Jupyter's kernel protocol over its WebSocket: an execute_request, then the stream output until idle. */
function runOnKernel(url: string, headers: Record<string, string>, code: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = originWebSocket(url, { headers });
    const msgId = randomUUID();
    let out = '';
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer from the kernel; output so far: ${JSON.stringify(out)}`));
    }, 60_000);
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket refused with ${res.statusCode}`));
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    ws.on('open', () => {
      ws.send(
        JSON.stringify({
          header: { msg_id: msgId, username: 'test', session: randomUUID(), msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
          parent_header: {},
          metadata: {},
          content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
          channel: 'shell',
          buffers: [],
        }),
      );
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { msg_type: string; parent_header: { msg_id?: string }; content: { name?: string; text?: string; execution_state?: string } };
      if (msg.parent_header.msg_id !== msgId) return;
      if (msg.msg_type === 'stream') out += msg.content.text ?? '';
      if (msg.msg_type === 'status' && msg.content.execution_state === 'idle') {
        clearTimeout(timer);
        ws.close();
        resolve(out);
      }
    });
  });
}
