import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Page } from './pages.js';
import { sendPage } from './pages.js';

/** The app is off, failed or gone while requests waited: they get its page. */
export class PageError extends Error {
  constructor(readonly page: (slug: string) => Page) {
    super('the app cannot be served');
  }
}

export function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** The page, or (once the app's response has begun) the end of the connection. Never throws. */
export function answer(req: IncomingMessage, res: ServerResponse, page: Page): void {
  try {
    sendPage(req, res, page);
  } catch {
    res.destroy();
  }
}

export function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  try {
    if (!socket.destroyed) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  } catch {
    socket.destroy();
  }
}
