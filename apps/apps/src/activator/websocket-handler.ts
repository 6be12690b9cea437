import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { refuseUpgrade } from './answers.js';
import { type Chain, refusal, requests } from './chain.js';
import { rewriteForApp, type Target } from './target.js';

/**
 * A WebSocket to an app, through the same chain as HTTP: admitted, counted, given a slot on a
 * replica with room, which it holds for as long as it is open (the app keeps a replica).
 */
export async function serveUpgrade(chain: Chain, target: Target, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  // As for HTTP: listened for before anything is awaited, released exactly once. Until the
  // socket is handed to the replica, a client that ends its side has left: the server keeps
  // upgraded sockets half-open, so without this it would never close.
  const abort = new AbortController();
  let release = () => undefined as void;
  socket.once('close', () => {
    abort.abort(new Error('the client went away'));
    release();
  });
  const leftEarly = () => socket.destroy();
  socket.once('end', leftEarly);
  const admitted = await chain.admission.admit(target, req);
  if (abort.signal.aborted) return;
  if ('code' in admitted) {
    requests.inc({ kind: 'ws', outcome: admitted.code });
    return refuseUpgrade(socket, admitted.status, admitted.title);
  }
  let route = admitted;
  const appId = route.appId;
  chain.meter.arrived(appId);
  let endpoint: string;
  try {
    ({ endpoint } = await chain.throttler.acquire(appId, abort.signal));
  } catch (error) {
    chain.meter.abandoned(appId);
    if (!abort.signal.aborted) {
      const page = refusal(chain, error, route);
      refuseUpgrade(socket, page.status, page.title);
    }
    return;
  }
  chain.meter.started(appId);
  release = () => {
    release = () => undefined;
    chain.throttler.release(appId, endpoint);
    chain.meter.finished(appId);
  };
  if (abort.signal.aborted || socket.destroyed) return release();
  route = chain.table.byAppId(appId) ?? route;
  rewriteForApp(req, route, target);
  socket.off('end', leftEarly);
  requests.inc({ kind: 'ws', outcome: 'forwarded' });
  chain.proxy.ws(req, socket, head, { target: endpoint }, (error) => {
    chain.logger.warn({ appId }, `WebSocket to replica ${endpoint} of app ${route.slug} failed: ${(error as Error).message}`);
    socket.destroy();
  });
}
