import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type Duplex, Readable } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CALLER_HEADER, APP_CALLER_SIGNATURE_HEADER, CommonErrorCode, DomainError, type Principal, signCaller } from '@launchpad/contracts';
import { counter } from '@launchpad/telemetry';
import { parseCookie } from 'cookie';
import type { NextFunction, Request, Response } from 'express';
import { createProxyServer } from 'http-proxy-3';
import { GATEWAY_CONFIG, TokenVerifier } from '../auth/token-verifier.js';
import type { GatewayConfig } from '../config.js';
import { ActivatorUpstreams, hasNoBody, neverReached } from './activator-upstreams.js';
import { credentialCookie, redirectWithoutToken, stripCredentials } from '../http/credentials.js';
import { sendProblem } from '../problems/problem.filter.js';

export const APP_COOKIE = 'launchpad_app';
const TOKEN_PARAM = 'token';

const proxied = counter('launchpad_app_proxy_requests_total', 'Requests the gateway passed to the apps activator', ['kind', 'outcome']);

/** `/a/<slug>...` → the slug, or undefined for any other path. */
export function appSlugOf(url: string): string | undefined {
  const match = /^\/a\/([^/?#]+)/.exec(url);
  return match?.[1];
}

/**
 * Share links `/a/<slug>/...` (HTTP, streamed bodies, SSE and WebSocket), passed on to the apps
 * service's activator, which knows the app and decides who may open it. Signing in is optional:
 * a bearer token, or the cookie a `?token=` link left; the verified caller travels in an internal
 * header, signed with the secret the gateway shares with the apps service (the activator believes
 * nothing else), and removed from whatever the client sent. The app gets neither token nor cookie.
 */
@Injectable()
export class AppProxy implements OnApplicationShutdown {
  private readonly logger = new Logger(AppProxy.name);
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
  private readonly proxy = createProxyServer({ xfwd: true, ws: true, agent: this.agent });
  private readonly activators: ActivatorUpstreams;

  constructor(
    private readonly verifier: TokenVerifier,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.activators = new ActivatorUpstreams(config.apps.activatorUrls);
    this.proxy.on('error', (error, req, target) => {
      this.logger.warn(`passing ${req.url ?? ''} to the apps activator failed: ${error.message}`);
      if (target && 'writeHead' in target) {
        const res = target as ServerResponse;
        if (res.headersSent) return void res.end();
        proxied.inc({ kind: 'http', outcome: 'activator-down' });
        sendProblem(new DomainError(CommonErrorCode.SERVICE_UNAVAILABLE, 'the apps service is not answering; try again in a moment'), req as Request, res as Response, this.logger);
      } else {
        (target as Duplex | undefined)?.destroy();
      }
    });
  }

  onApplicationShutdown(): void {
    this.proxy.close();
    this.agent.destroy();
  }

  /** Express middleware for `/a`, mounted before body parsing so bodies stream through. */
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const slug = appSlugOf(req.originalUrl);
    if (!slug) return next();
    this.handleHttp(slug, req, res).catch((error: unknown) => {
      proxied.inc({ kind: 'http', outcome: 'refused' });
      sendProblem(error, req, res, this.logger);
    });
  };

  /** Whether an upgrade request is for an app (the server's `upgrade` listener dispatches on it). */
  handles(req: IncomingMessage): boolean {
    return appSlugOf(req.url ?? '') !== undefined;
  }

  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    this.authenticate(req)
      .then(
        (caller) => {
          prepare(req, caller, this.config.apps.callerSecret);
          proxied.inc({ kind: 'ws', outcome: 'passed' });
          this.forwardWs(req, socket, head);
        },
        () => {
          proxied.inc({ kind: 'ws', outcome: 'refused' });
          socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        },
      )
      .catch((error: unknown) => {
        this.logger.warn(`passing a WebSocket to ${req.url ?? ''} on failed: ${(error as Error).message}`);
        socket.destroy();
      });
  };

  private async handleHttp(slug: string, req: Request, res: Response): Promise<void> {
    const url = new URL(req.originalUrl, 'http://gateway');
    const token = url.searchParams.get(TOKEN_PARAM);
    if (token) {
      // A link with a token once: keep it in a cookie for this app only, and out of the address bar.
      await this.verifier.verify(`Bearer ${token}`);
      res.setHeader('Set-Cookie', credentialCookie(APP_COOKIE, token, `/a/${slug}/`, this.config.http.publicUrl.startsWith('https:')));
      res.redirect(303, redirectWithoutToken(url, TOKEN_PARAM, `/a/${slug}/`));
      return;
    }
    const caller = await this.authenticate(req);
    // Mounted at /a, express trimmed req.url; the activator reads the whole share link.
    req.url = req.originalUrl;
    prepare(req, caller, this.config.apps.callerSecret);
    proxied.inc({ kind: 'http', outcome: 'passed' });
    this.forwardWeb(req, res, this.activators.order());
  }

  /**
   * To the first activator that takes the connection: one that refuses it is passed over for a
   * while, and a request without a body goes on to the next (one with a body has been streamed
   * to the failed one, so it gets the 503 and the client's retry goes elsewhere).
   */
  private forwardWeb(req: Request, res: Response, [target, ...rest]: string[], attempt = 0): void {
    if (!target) return;
    const replay = attempt > 0 ? { buffer: Readable.from([]) } : {};
    this.proxy.web(req, res, { target, ...replay }, (error) => {
      if (neverReached(error)) {
        this.activators.failed(target);
        if (rest.length > 0 && hasNoBody(req.headers) && !res.headersSent) {
          this.logger.warn(`apps activator ${target} is not answering (${error.message}); trying ${rest[0]}`);
          return this.forwardWeb(req, res, rest, attempt + 1);
        }
      }
      this.proxy.emit('error', error, req, res, target);
    });
  }

  /** A WebSocket goes to the first activator not known to be down; the client reconnects if it fails. */
  private forwardWs(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const [target] = this.activators.order();
    this.proxy.ws(req, socket, head, { target }, (error) => {
      if (target && neverReached(error)) this.activators.failed(target);
      this.proxy.emit('error', error, req, socket as Socket, target);
    });
  }

  /**
   * Who is asking, if anyone: a bearer token must be valid (401 otherwise); a cookie that no
   * longer is (expired) counts as nobody, as a link opened without signing in does.
   */
  private async authenticate(req: IncomingMessage): Promise<Principal | null> {
    if (req.headers.authorization) return this.verifier.verify(req.headers.authorization);
    const cookie = req.headers.cookie ? parseCookie(req.headers.cookie)[APP_COOKIE] : undefined;
    if (!cookie) return null;
    return this.verifier.verify(`Bearer ${cookie}`).catch(() => null);
  }
}

/**
 * What the activator and the app get: the caller as the gateway verified it, signed for this
 * method and path (a client's own copy of the headers is dropped), and none of the caller's
 * credentials, which the app (user code) must never see.
 */
export function prepare(req: IncomingMessage, caller: Principal | null, secret: string): void {
  delete req.headers[APP_CALLER_HEADER];
  delete req.headers[APP_CALLER_SIGNATURE_HEADER];
  if (caller) Object.assign(req.headers, signCaller(secret, caller, req.method ?? 'GET', req.url ?? ''));
  stripCredentials(req, APP_COOKIE);
}
