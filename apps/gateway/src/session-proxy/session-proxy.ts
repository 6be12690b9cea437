import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import {
  CommonErrorCode,
  DomainError,
  type Principal,
  SESSION_ACTIVITY_SUBJECT,
  SessionsErrorCode,
  sessionProgressedV1,
  sessionRunningV1,
  sessionsRpc as rpc,
  uuidSchema,
} from '@launchpad/contracts';
import { eventDataId, NATS_CONNECTION, RpcClient } from '@launchpad/messaging';
import { counter } from '@launchpad/telemetry';
import { parseCookie } from 'cookie';
import type { NextFunction, Request, Response } from 'express';
import { createProxyServer } from 'http-proxy-3';
import { GATEWAY_CONFIG, TokenVerifier } from '../auth/token-verifier.js';
import type { GatewayConfig } from '../config.js';
import { credentialCookie, redirectWithoutToken, stripCredentials } from '../http/credentials.js';
import { sendProblem } from '../problems/problem.filter.js';

export const SESSION_COOKIE = 'launchpad_session';
const TOKEN_PARAM = 'token';
const ROUTE_CACHE_MS = 2000;

const proxied = counter('launchpad_session_proxy_requests_total', 'Requests the gateway proxied to sessions', ['kind', 'outcome']);

interface Route {
  endpoint: string;
  expires: number;
}

/**
 * Proxies `/sessions/{id}/...` (HTTP and WebSocket) to the session's program, for its owner only.
 * A browser opens the URL once with `?token=<API token>`; the gateway answers with a cookie scoped
 * to that session's path and a redirect without the token, and from then on the cookie is the
 * credential. Anyone who is not the owner gets 404, as if the session did not exist.
 */
@Injectable()
export class SessionProxy implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionProxy.name);
  private readonly proxy = createProxyServer({ xfwd: true, ws: true });
  private readonly routes = new Map<string, Route>();
  private readonly lastActivity = new Map<string, number>();
  private statusChanges: Subscription | undefined;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly rpc: RpcClient,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.proxy.on('error', (error, req, target) => {
      this.logger.warn(`proxying ${req.url ?? ''} failed: ${error.message}`);
      const id = sessionIdOf(req.url ?? '');
      if (id) this.forget(id);
      if (target && 'writeHead' in target) {
        const res = target as ServerResponse;
        if (!res.headersSent) {
          sendProblem(
            new DomainError(CommonErrorCode.SERVICE_UNAVAILABLE, 'the session did not answer; it may be restarting, try again in a moment'),
            req as Request,
            res as Response,
            this.logger,
          );
        } else res.end();
      } else {
        (target as Duplex | undefined)?.destroy();
      }
    });
  }

  /** Express middleware for `/sessions/...`, mounted before body parsing so bodies stream through. */
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const id = sessionIdOf(req.originalUrl);
    if (!id) return next();
    this.handleHttp(id, req, res).catch((error: unknown) => {
      proxied.inc({ kind: 'http', outcome: 'refused' });
      sendProblem(error, req, res, this.logger);
    });
  };

  /** The HTTP server's `upgrade` listener: WebSockets (Jupyter kernels) to the session. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node drops its own error listener on upgrade: a client that resets while we authenticate
    // would otherwise raise an unhandled 'error' and take the gateway down.
    socket.on('error', () => socket.destroy());
    const id = sessionIdOf(req.url ?? '');
    if (!id) {
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    this.handleUpgrade(id, req, socket, head).catch((error: unknown) => {
      proxied.inc({ kind: 'ws', outcome: 'refused' });
      const status = error instanceof DomainError && error.code === CommonErrorCode.UNAUTHENTICATED ? 401 : 404;
      refuseUpgrade(socket, status, status === 401 ? 'Unauthorized' : 'Not Found');
    });
  };

  /** A session that stops, hibernates, fails or goes must not be reached through a cached route. */
  onApplicationBootstrap(): void {
    this.statusChanges = this.nc.subscribe('sessions.session.>', {
      callback: (err, msg) => {
        if (err || msg.subject === sessionProgressedV1.type || msg.subject === sessionRunningV1.type) return;
        const id = eventDataId(msg);
        if (id) this.forget(id);
      },
    });
  }

  onApplicationShutdown(): void {
    this.statusChanges?.unsubscribe();
    this.proxy.close();
  }

  private forget(id: string): void {
    for (const key of this.routes.keys()) if (key.startsWith(`${id}\0`)) this.routes.delete(key);
  }

  private async handleHttp(id: string, req: Request, res: Response): Promise<void> {
    const url = new URL(req.originalUrl, 'http://gateway');
    const token = url.searchParams.get(TOKEN_PARAM);
    if (token) {
      // Trade the token for a cookie, and take the token out of the address bar and history. Only
      // for the session's owner: a cookie planted by someone else's link would lead the browser
      // into their session, on our origin.
      const caller = await this.verifier.verify(`Bearer ${token}`);
      await this.rpc.call(rpc.get, { caller, id });
      res.setHeader('Set-Cookie', credentialCookie(SESSION_COOKIE, token, `/sessions/${id}/`, this.config.http.publicUrl.startsWith('https:')));
      res.redirect(303, redirectWithoutToken(url, TOKEN_PARAM, `/sessions/${id}/`));
      return;
    }
    const caller = await this.authenticate(req);
    const endpoint = await this.endpointFor(id, caller);
    this.noteActivity(id);
    // Mounted at /sessions, express trimmed req.url; the program expects its whole base URL.
    req.url = req.originalUrl;
    withoutCredentials(req);
    proxied.inc({ kind: 'http', outcome: 'proxied' });
    this.proxy.web(req, res, { target: endpoint });
  }

  private async handleUpgrade(id: string, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const caller = await this.authenticate(req);
    const endpoint = await this.endpointFor(id, caller);
    this.noteActivity(id);
    withoutCredentials(req);
    // A kernel's traffic is use: count it while the socket lives, not only when it opens.
    socket.on('data', () => this.noteActivity(id));
    proxied.inc({ kind: 'ws', outcome: 'proxied' });
    this.proxy.ws(req, socket, head, { target: endpoint });
  }

  private authenticate(req: IncomingMessage): Promise<Principal> {
    if (req.headers.authorization) return this.verifier.verify(req.headers.authorization);
    const cookie = req.headers.cookie ? parseCookie(req.headers.cookie)[SESSION_COOKIE] : undefined;
    if (cookie) return this.verifier.verify(`Bearer ${cookie}`);
    const token = new URL(req.url ?? '/', 'http://gateway').searchParams.get(TOKEN_PARAM);
    if (token) return this.verifier.verify(`Bearer ${token}`);
    return Promise.reject(
      new DomainError(CommonErrorCode.UNAUTHENTICATED, `open this session once as /sessions/<id>/?${TOKEN_PARAM}=<your API token>; the gateway then keeps a cookie`),
    );
  }

  private async endpointFor(id: string, caller: Principal): Promise<string> {
    const key = `${id}\0${caller.userId}`;
    const cached = this.routes.get(key);
    if (cached && cached.expires > Date.now()) return cached.endpoint;
    const route = await this.rpc.call(rpc.route, { caller, id });
    if (route.status !== 'running' || !route.endpoint) {
      this.routes.delete(key);
      throw new DomainError(
        route.status === 'starting' ? CommonErrorCode.SERVICE_UNAVAILABLE : SessionsErrorCode.SESSION_NOT_RUNNING,
        route.status === 'starting'
          ? 'the session is still starting; follow GET /api/v1/sessions/{id}/events and open it when it is ready'
          : `the session is ${route.status}; resume it with PATCH /api/v1/sessions/${id} {"state": "running"}`,
      );
    }
    this.routes.set(key, { endpoint: route.endpoint, expires: Date.now() + ROUTE_CACHE_MS });
    if (this.routes.size > 10_000) this.routes.clear();
    return route.endpoint;
  }

  /** Tells the sessions service the session is in use, at most every few seconds per session. */
  private noteActivity(id: string): void {
    const now = Date.now();
    if ((this.lastActivity.get(id) ?? 0) + this.config.sessionActivityReportMs > now) return;
    this.lastActivity.set(id, now);
    if (this.lastActivity.size > 10_000) this.lastActivity.clear();
    try {
      this.nc.publish(SESSION_ACTIVITY_SUBJECT, JSON.stringify({ sessionId: id, at: new Date(now).toISOString() }));
    } catch (error) {
      this.logger.debug(`activity of session ${id} not sent: ${(error as Error).message}`);
    }
  }
}

export function sessionIdOf(url: string): string | undefined {
  const match = /^\/sessions\/([^/?#]+)/.exec(url);
  return match && uuidSchema.safeParse(match[1]).success ? match[1] : undefined;
}

/** The session's program is the user's own code: it gets neither their API token nor our cookie, nor the ?token= link. */
function withoutCredentials(req: IncomingMessage): void {
  stripCredentials(req, SESSION_COOKIE);
  const url = new URL(req.url ?? '/', 'http://gateway');
  if (url.searchParams.has(TOKEN_PARAM)) {
    url.searchParams.delete(TOKEN_PARAM);
    req.url = `${url.pathname}${url.search}`;
  }
}


function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
