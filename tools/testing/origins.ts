/**
 * Sessions and apps each have their own origin, `<id>.sessions.localhost:<gateway port>` and
 * `<slug>.apps.localhost:<port>`. Browsers resolve `*.localhost` to loopback themselves; Node's
 * resolver may not, so tests reach those names through these helpers, which connect to 127.0.0.1
 * and send the real `Host` (what a browser would send).
 */
import { type LookupAddress } from 'node:dns';
import { type IncomingMessage, request } from 'node:http';
import { Readable } from 'node:stream';
import WebSocket from 'ws';

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for node:http / ws that answers 127.0.0.1 for every name. */
export function loopback(_hostname: string, options: { all?: boolean } | number | LookupCallback, callback?: LookupCallback): void {
  const cb = (typeof options === 'function' ? options : callback)!;
  if (typeof options === 'object' && options.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
}

export const sessionOrigin = (gatewayPort: number, id: string) => `http://${id}.sessions.localhost:${gatewayPort}`;
export const appOrigin = (gatewayPort: number, slug: string) => `http://${slug}.apps.localhost:${gatewayPort}`;

export interface OriginInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** 'follow' (the default, as fetch) follows up to 5 redirects; 'manual' answers the redirect. */
  redirect?: 'follow' | 'manual';
  signal?: AbortSignal;
}

/** Whether a URL names something under `*.localhost` (a session's or app's origin in development). */
export const underLocalhost = (url: string) => new URL(url).hostname.endsWith('.localhost');

/**
 * fetch, for any URL: names under `*.localhost` are connected to 127.0.0.1 (with their own Host),
 * others go to the global fetch. The Response streams (server-sent events work).
 */
export async function originFetch(url: string, init: OriginInit = {}, hops = 0): Promise<Response> {
  if (!underLocalhost(url)) return fetch(url, init);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, lookup: loopback as never, ...(init.signal ? { signal: init.signal } : {}) }, resolve);
    req.on('error', reject);
    req.end(init.body);
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
  }
  const location = headers.get('location');
  if ((init.redirect ?? 'follow') === 'follow' && location && [301, 302, 303, 307, 308].includes(res.statusCode!) && hops < 5) {
    res.resume();
    const next = new URL(location, url).toString();
    const keepsMethod = res.statusCode === 307 || res.statusCode === 308;
    return originFetch(next, keepsMethod ? init : { ...init, method: 'GET', body: undefined }, hops + 1);
  }
  const empty = res.statusCode === 204 || res.statusCode === 304 || (init.method ?? 'GET') === 'HEAD';
  if (empty) res.resume();
  const body = empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
  const response = new Response(body, { status: res.statusCode!, headers });
  Object.defineProperty(response, 'url', { value: url });
  return response;
}

/** A WebSocket to a name under `*.localhost` (resolved to 127.0.0.1), as a browser on that origin would open it. */
export function originWebSocket(url: string, options: { headers?: Record<string, string> } = {}): WebSocket {
  return new WebSocket(url, { headers: options.headers ?? {}, lookup: loopback as never });
}

/** `name=value` of the first Set-Cookie, for the next request's Cookie header. */
export function cookieFrom(response: Response): string {
  const header = response.headers.get('set-cookie');
  if (!header) throw new Error(`no Set-Cookie in the ${response.status} answer`);
  return header.split(';')[0]!;
}

/**
 * A request with its target exactly as written (fetch and URL would resolve `..` before sending),
 * to 127.0.0.1:<port> with the given Host: what a hostile client can send.
 */
export function rawRequest(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
