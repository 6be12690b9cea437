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
  return { origin, cookie, channels: `${origin.replace('http', 'ws')}/api/kernels/${id}/channels` };
}

/**
 * Sends a cell to a kernel and closes the WebSocket once the kernel says it is busy with it, as
 * a person who starts a long cell and closes the tab: the kernel runs on, nothing passes the gateway.
 */
export function startCell(url: string, headers: Record<string, string>, code: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = originWebSocket(url, { headers });
    const msgId = randomUUID();
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('the kernel never said it was busy'));
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
      const msg = JSON.parse(data.toString()) as { msg_type: string; parent_header: { msg_id?: string }; content: { execution_state?: string } };
      if (msg.parent_header.msg_id === msgId && msg.msg_type === 'status' && msg.content.execution_state === 'busy') {
        clearTimeout(timer);
        ws.close();
        resolve();
      }
    });
  });
}
