import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { CommonErrorCode, DomainError } from '@launchpad/contracts';

export const TOKEN_PARAM = 'token';

/**
 * The request's path and query, normalised once, here: dot segments resolved (`%2e` included,
 * as browsers do), so that what the gateway authorised is exactly what it forwards and no
 * `..` climbs out of where it was sent. Only origin-form targets (`/...`) are accepted.
 */
export function normalisedTarget(rawUrl: string | undefined): { path: string; search: URLSearchParams } {
  const raw = rawUrl ?? '';
  if (!raw.startsWith('/') || raw.length > 16_384) {
    throw new DomainError(CommonErrorCode.VALIDATION_FAILED, 'the request target must be a path starting with "/" (at most 16 KiB)');
  }
  // A fixed base: `//host/x` stays a path of this origin, never another host.
  const url = new URL(`http://gateway${raw}`);
  return { path: url.pathname, search: url.searchParams };
}

/** Path and query for the upstream, without our `?token=` (which never reaches a user's program). */
export function forwardedUrl(target: { path: string; search: URLSearchParams }): string {
  const search = new URLSearchParams(target.search);
  search.delete(TOKEN_PARAM);
  const query = search.toString();
  return `${target.path}${query ? `?${query}` : ''}`;
}

/**
 * Where the browser goes after trading a `?token=` link for a cookie: the same path and query,
 * in this origin. A path beginning `//` (or `/\`, which URLs read as `//`) would be a
 * scheme-relative Location, i.e. another host: an open redirect from our own domain.
 */
export function redirectTarget(target: { path: string; search: URLSearchParams }): string {
  return forwardedUrl(target).replace(/^\/{2,}/, '/');
}

/**
 * What a client says about the way it came (`X-Forwarded-*`, `Forwarded`, `X-Real-IP`) is not
 * believed and not passed on: a program behind the gateway would take it for the gateway's word.
 */
export function dropForwardingHeaders(req: IncomingMessage): void {
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-forwarded-') || name === 'forwarded' || name === 'x-real-ip') delete req.headers[name];
  }
}

/**
 * What a user's program may not tell a browser through us: to widen a service worker's scope
 * (`Service-Worker-Allowed`), or to set cookies for other hosts (a `Domain` attribute reaches
 * every sibling origin). And nothing of its URLs leaks in a Referer to another site.
 */
export function sanitiseResponseHeaders(headers: Record<string, string | string[] | undefined>): void {
  delete headers['service-worker-allowed'];
  const cookies = headers['set-cookie'];
  if (cookies) {
    const kept = (Array.isArray(cookies) ? cookies : [cookies]).filter((c) => !/;\s*domain\s*=/i.test(c));
    if (kept.length > 0) headers['set-cookie'] = kept;
    else delete headers['set-cookie'];
  }
  headers['referrer-policy'] = 'no-referrer';
}

/**
 * The same for the answers to a WebSocket handshake, which http-proxy-3 writes to the client's
 * socket itself (the 101, or the program's refusal) without its `proxyRes` event: they are
 * sanitised as the upstream's request hears them, before http-proxy-3's own listeners (registered
 * after `proxyReqWs`) write them on.
 */
export function sanitiseWebSocketAnswers(proxy: { on(event: 'proxyReqWs', listener: (proxyReq: ClientRequest) => void): unknown }): void {
  proxy.on('proxyReqWs', (proxyReq) => {
    proxyReq.prependListener('upgrade', (proxyRes: IncomingMessage) => sanitiseResponseHeaders(proxyRes.headers));
    proxyReq.prependListener('response', (proxyRes: IncomingMessage) => sanitiseResponseHeaders(proxyRes.headers));
  });
}

/** Whether the browser's `Origin` (if it sent one) is this very origin; a request from another site is refused. */
export function fromOwnOrigin(req: IncomingMessage, own: string): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin.toLowerCase() === own.toLowerCase();
}

export const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Why a browser's request is some other page's use of this origin, or null when it is this
 * origin's own (or no browser's): a state-changing request from another origin (`Origin`), or
 * anything that other sites or sibling origins (same-site: every session and app under one
 * domain) ask for (`Sec-Fetch-Site`) but a top-level navigation. The cookie rides along with such
 * requests; what they get must not be the signed-in user's.
 */
export function foreignUse(req: IncomingMessage, own: string): 'state-change' | 'embedded' | null {
  if (STATE_CHANGING.has(req.method ?? 'GET') && !fromOwnOrigin(req, own)) return 'state-change';
  const site = req.headers['sec-fetch-site'];
  if (site === 'same-site' || site === 'cross-site') {
    const navigation = req.headers['sec-fetch-mode'] === 'navigate' && req.headers['sec-fetch-dest'] === 'document' && (req.method === 'GET' || req.method === 'HEAD');
    if (!navigation) return 'embedded';
  }
  return null;
}

/** The cookie header without ours: the program's own cookies pass untouched (removed textually, not re-encoded). */
export function withoutCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const remaining = header
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !c.startsWith(`${name}=`));
  return remaining.length > 0 ? remaining.join('; ') : undefined;
}

export function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  try {
    if (!socket.destroyed) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  } catch {
    socket.destroy();
  }
}

/** A 303 to `location` (the address without its `?token=`), in plain node:http. */
export function seeOther(res: ServerResponse, location: string): void {
  res.writeHead(303, { Location: location, 'Content-Length': 0 }).end();
}
