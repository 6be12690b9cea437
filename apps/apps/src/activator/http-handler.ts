import type { IncomingMessage, ServerResponse } from 'node:http';
import { answer, hasBody } from './answers.js';
import { type Chain, type Forwarding, refusal, requests, rewriteResponseHeaders } from './chain.js';
import { APP_UNAVAILABLE } from './pages.js';
import { rewriteForApp, type Target } from './target.js';

/** Requests without a body are sent to another replica when the first refuses the connection (it just stopped). */
const RETRIES = 3;

/**
 * An HTTP request to an app, through the chain: admitted, counted, given a slot on a replica
 * with room (waiting for one if need be), rewritten, and forwarded with its body streamed; a
 * replica that refuses the connection is left out and, for a request without a body, another tried.
 */
export async function serveHttp(chain: Chain, target: Target, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Listened for before anything is awaited: a client that leaves at any point releases what
  // it holds (see `release`), exactly once. The signal is made only for a request that waits
  // (`signal()`), and aborted only when the client left before its answer was sent: a warm app's
  // requests pay for neither.
  let gone = false;
  let abort: AbortController | undefined;
  const signal = () => {
    abort ??= new AbortController();
    if (gone && !abort.signal.aborted) abort.abort(new Error('the client went away'));
    return abort.signal;
  };
  let release = () => undefined as void;
  res.once('close', () => {
    gone = true;
    if (!res.writableFinished) abort?.abort(new Error('the client went away'));
    release();
  });
  const admission = chain.admission.admit(target, req);
  const admitted = admission instanceof Promise ? await admission : admission;
  if (gone) return;
  if ('code' in admitted) {
    requests.inc({ kind: 'http', outcome: admitted.code });
    return answer(req, res, admitted);
  }
  let route = admitted;
  if (target.rest === '' || target.rest.startsWith('?')) {
    // The share link without its slash: relative links of the app would miss it.
    res.writeHead(308, { Location: `/a/${target.slug}/${target.rest}` }).end();
    return;
  }
  const appId = route.appId;
  chain.meter.arrived(appId);
  let endpoint = chain.throttler.tryAcquire(appId);
  let waitedMs: number | null = null;
  if (!endpoint) {
    try {
      ({ endpoint, waitedMs } = await chain.throttler.acquire(appId, signal()));
    } catch (error) {
      chain.meter.abandoned(appId);
      if (gone) return;
      const page = refusal(chain, error, route);
      requests.inc({ kind: 'http', outcome: page.code });
      return answer(req, res, page);
    }
  }
  chain.meter.started(appId);
  // The replica the request holds now (null between two tries), given back when the client leaves.
  let current: string | null = endpoint;
  release = () => {
    release = () => undefined;
    if (current) chain.throttler.release(appId, current);
    chain.meter.finished(appId);
  };
  // After a wait, resumed only after a microtask: a client gone meanwhile left nothing to give back to.
  if (gone) return release();
  // Waiting, the route may have changed (its command was found meanwhile, and with it where it is served).
  route = chain.table.byAppId(appId) ?? route;
  // Every app is served at the root of its own origin: its redirects need no share-link prefix.
  const forwarding: Forwarding = { waitedMs, prefix: null };
  chain.forwarding.set(req, forwarding);
  rewriteForApp(req, route, target);
  const attempt = (replica: string, left: number) => {
    chain.forwarder.forward(req, res, { origin: replica, onResponse: (headers) => rewriteResponseHeaders(forwarding, headers), onError: (error) => {
      const refused = (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
      if (refused) chain.table.markDown(appId, replica);
      if (refused && left > 0 && !res.headersSent && !hasBody(req) && !gone) {
        // It just stopped (scaled down, crashed): nothing reached it, so another replica may answer.
        current = null;
        chain.throttler.release(appId, replica);
        chain.throttler
          .acquire(appId, signal())
          .then((next) => {
            current = next.endpoint;
            if (next.waitedMs !== null) forwarding.waitedMs = (forwarding.waitedMs ?? 0) + next.waitedMs;
            attempt(next.endpoint, left - 1);
          })
          .catch((failure: unknown) => {
            if (!gone) answer(req, res, refusal(chain, failure, route));
          });
        return;
      }
      requests.inc({ kind: 'http', outcome: 'replica-error' });
      chain.logger.warn({ appId }, `replica ${replica} of app ${route.slug} failed a request: ${(error as Error).message}`);
      answer(req, res, APP_UNAVAILABLE(route.slug, 'the app did not answer', 1));
    } });
  };
  requests.inc({ kind: 'http', outcome: waitedMs === null ? 'forwarded' : 'forwarded-after-wake' });
  attempt(endpoint, RETRIES);
}
