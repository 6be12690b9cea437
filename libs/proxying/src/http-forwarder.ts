import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Agent, type Dispatcher } from 'undici';

/**
 * Headers of one connection, not of the request (RFC 9110 §7.6.1), which a proxy never passes
 * on: its own connections to the upstream are kept alive by its pool whatever the client's are.
 * `expect` is answered by our own server (Node sends the client its `100 Continue`), `trailer`
 * was never forwarded (http-proxy-3 dropped it too), and undici refuses most of these anyway.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'expect', 'trailer']);

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface Forward {
  /** `http://host:port` of the upstream; the request's own `url` is the path asked for there. */
  origin: string;
  /** Sees (and may change, in place) the upstream's response headers before the client gets them. */
  onResponse?: (headers: ResponseHeaders, statusCode: number) => void;
  /**
   * The upstream could not be reached or failed before answering in full. Not called when the
   * client left first (the upstream request is aborted then, silently). `res.headersSent` tells
   * whether the client has had part of an answer already.
   */
  onError: (error: Error) => void;
}

/**
 * A reverse proxy's HTTP half on undici's dispatcher (its lowest documented API): one pooled,
 * kept-alive client per upstream origin, the request's body streamed up only when it has one,
 * the response streamed back with backpressure, SSE and long polls included (no header or body
 * timeout, as node:http had none). It costs about a third less CPU per request than node:http's
 * client piped, and half of http-proxy-3's `web` (which builds a URL, an options object and a
 * handful of event listeners per request). WebSockets stay with http-proxy-3's `ws`.
 *
 * Headers pass as they came but for the hop-by-hop ones; the client's `Host` is kept.
 */
export class HttpForwarder {
  private readonly agent = new Agent({ headersTimeout: 0, bodyTimeout: 0, connections: null });
  private readonly xfwd: boolean;

  /** `xfwd`: add `X-Forwarded-*` for the upstream, as http-proxy-3's option of that name. */
  constructor(options: { xfwd?: boolean } = {}) {
    this.xfwd = options.xfwd ?? false;
  }

  forward(req: IncomingMessage, res: ServerResponse, { origin, onResponse, onError }: Forward): void {
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let clientGone = false;
    res.once('close', () => {
      if (settled) return;
      clientGone = true;
      controller?.abort(new Error('the client went away'));
    });
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (clientGone) c.abort(new Error('the client went away'));
      },
      onResponseStart(c, statusCode, headers, statusMessage) {
        // 1xx (100 Continue, 103 Early Hints) are the upstream's to us: Node answers the client's own Expect.
        if (statusCode < 200) return;
        try {
          const out = responseHeaders(headers);
          onResponse?.(out, statusCode);
          if (statusMessage && req.httpVersionMajor === 1) res.writeHead(statusCode, statusMessage, out as OutgoingHttpHeaders);
          else res.writeHead(statusCode, out as OutgoingHttpHeaders);
        } catch (error) {
          // A header Node will not write (an invalid character, say) fails this request, not the process.
          c.abort(error as Error);
        }
      },
      onResponseData(c, chunk) {
        if (!res.write(chunk)) {
          c.pause();
          res.once('drain', () => c.resume());
        }
      },
      onResponseEnd() {
        settled = true;
        res.end();
      },
      onResponseError(_c, error) {
        settled = true;
        if (!clientGone) onError(error);
      },
    };
    this.agent.dispatch(
      {
        origin,
        path: req.url ?? '/',
        method: req.method ?? 'GET',
        headers: requestHeaders(req, this.xfwd),
        // Only a request that says it has a body streams one (one without can be sent again elsewhere, see the callers).
        body: hasBody(req.headers) ? req : null,
      },
      handler,
    );
  }

  /** Ends every upstream connection, streams still open included (an SSE stream would hold a graceful close for ever). */
  close(): Promise<void> {
    return this.agent.destroy();
  }
}

/** Whether the request says it has a body (chunked, or a length above 0). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

function requestHeaders(req: IncomingMessage, xfwd: boolean): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name in req.headers) if (!HOP_BY_HOP.has(name)) out[name] = req.headers[name];
  // A client's `Content-Length` stands; a chunked body (transfer-encoding dropped) undici sends chunked again.
  if (xfwd) addForwardedHeaders(req, out);
  return out;
}

/** `X-Forwarded-For/-Port/-Proto/-Host` as http-proxy-3's `xfwd` sets them: appended to what came, host kept if given. */
function addForwardedHeaders(req: IncomingMessage, headers: IncomingHttpHeaders): void {
  const encrypted = Boolean((req.socket as { encrypted?: boolean }).encrypted);
  const port = /:(\d+)/.exec(req.headers.host ?? '')?.[1] ?? (encrypted ? '443' : '80');
  const values = { for: req.socket.remoteAddress ?? '', port, proto: encrypted ? 'https' : 'http' };
  for (const key of ['for', 'port', 'proto'] as const) {
    const name = `x-forwarded-${key}`;
    const given = headers[name];
    headers[name] = `${given ?? ''}${given ? ',' : ''}${values[key]}`;
  }
  headers['x-forwarded-host'] ??= req.headers.host ?? '';
}

function responseHeaders(headers: ResponseHeaders): ResponseHeaders {
  const out: ResponseHeaders = {};
  for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name];
  return out;
}
