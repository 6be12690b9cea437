import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cookieFrom, originFetch, originWebSocket, sessionOrigin } from './origins.js';

export function jupyterInstalled(): boolean {
  try {
    execFileSync('jupyter', ['notebook', '--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Opens a running Jupyter session as a browser does (the URL with the token once, then its cookie) and starts a kernel. */
export async function openKernel(gatewayPort: number, sessionId: string, url: string, token: string): Promise<{ origin: string; cookie: string; channels: string }> {
  const origin = sessionOrigin(gatewayPort, sessionId);
  const open = await originFetch(`${url}?token=${token}`, { redirect: 'manual' });
  if (open.status !== 303) throw new Error(`opening the session answered ${open.status}`);
  const cookie = cookieFrom(open);
  const kernel = await originFetch(`${origin}/api/kernels`, { method: 'POST', headers: { cookie, origin, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'python3' }) });
  if (kernel.status !== 201) throw new Error(`starting a kernel answered ${kernel.status}`);
  const { id } = (await kernel.json()) as { id: string };
  const channels = `${origin.replace('http', 'ws')}/api/kernels/${id}/channels`;
  await untilJupyterWatches(origin, cookie, id, channels);
  return { origin, cookie, channels };
}

/**
 * Waits until Jupyter follows the kernel's state, as a notebook page does before a person runs a
 * cell. Notebook 6 learns whether a kernel is busy only from the status messages its own IOPub
 * subscription receives; that subscription is made when the kernel starts and, like any ZeroMQ
 * subscriber, misses what the kernel publishes before it is connected. A kernel so new that its
 * first cell's "busy" went unheard stays "starting" in /api/kernels however long the cell runs
 * (a kernel no one has talked to yet is "starting" for ever, too). Empty cells until Jupyter has
 * heard one end.
 */
async function untilJupyterWatches(origin: string, cookie: string, id: string, channels: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await executeCell(channels, { cookie, origin }, '');
    const res = await originFetch(`${origin}/api/kernels/${id}`, { headers: { cookie, origin } });
    const model = (await res.json()) as { execution_state?: string };
    if (model.execution_state === 'idle') return;
    if (attempt >= 20) throw new Error(`Jupyter still says kernel ${id} is ${model.execution_state} after ${attempt} empty cells`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Jupyter's kernel protocol over its WebSocket: sends a cell (an execute_request) and resolves
 * with its stream output once the kernel is `until` with it: `idle` (the cell has run), or `busy`
 * (it has begun; the WebSocket is closed, as by a person who starts a long cell and closes the
 * tab: the kernel runs on, and nothing passes the gateway).
 */
export function executeCell(url: string, headers: Record<string, string>, code: string, until: 'idle' | 'busy' = 'idle'): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = originWebSocket(url, { headers });
    const msgId = randomUUID();
    let out = '';
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`the kernel never said it was ${until}; output so far: ${JSON.stringify(out)}`));
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
      const msg = JSON.parse(data.toString()) as { msg_type: string; parent_header: { msg_id?: string }; content: { text?: string; execution_state?: string } };
      if (msg.parent_header.msg_id !== msgId) return;
      if (msg.msg_type === 'stream') out += msg.content.text ?? '';
      if (msg.msg_type === 'status' && msg.content.execution_state === until) {
        clearTimeout(timer);
        ws.close();
        resolve(out);
      }
    });
  });
}

/** A cell started and left running (see executeCell). */
export const startCell = (url: string, headers: Record<string, string>, code: string): Promise<void> => executeCell(url, headers, code, 'busy').then(() => undefined);
