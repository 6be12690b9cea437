import type { Response } from 'express';

/** Starts a server-sent event stream: no caching, no proxy buffering, headers sent at once. */
export function openEventStream(res: Response): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
}

/**
 * The last event of a stream that the gateway ends (the token expired, the app went): `end`, with
 * why, so that a client knows not to reconnect blindly. The caller closes the response after it.
 */
export function endEventStream(res: Response, why: { reason: string; message?: string }): void {
  if (!res.writableEnded) res.write(`event: end\ndata: ${JSON.stringify(why)}\n\n`);
}
