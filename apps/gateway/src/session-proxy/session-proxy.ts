import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
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
} from '@launchpad/contracts';
import { eventDataId, NATS_CONNECTION, RpcClient } from '@launchpad/messaging';
import { HttpForwarder } from '@launchpad/proxying';
import { counter } from '@launchpad/telemetry';
import { parseCookie } from 'cookie';
import { createProxyServer } from 'http-proxy-3';
import { GATEWAY_CONFIG, TokenVerifier } from '../auth/token-verifier.js';
import type { GatewayConfig } from '../config.js';
import { credentialCookie, credentialCookieName, OriginCredentials, tokenExpiry, SESSION_COOKIE } from '../origins/origin-credential.js';
import { Origins } from '../origins/origins.js';
import {
  dropForwardingHeaders,
  foreignUse,
  forwardedUrl,
  fromOwnOrigin,
  normalisedTarget,
  redirectTarget,
  seeOther,
  refuseUpgrade,
  sanitiseResponseHeaders,
  sanitiseWebSocketAnswers,
  TOKEN_PARAM,
  withoutCookie,
} from '../origins/proxy-hygiene.js';
import { sendProblem } from '../problems/problem.filter.js';

export { SESSION_COOKIE };
const ROUTE_CACHE_MS = 2000;

const proxied = counter('launchpad_session_proxy_requests_total', 'Requests the gateway proxied to sessions', ['kind', 'outcome']);

interface Route {
  endpoint: string;
  /** What the program takes as its own credential (Jupyter's token), added to every request; null if it has none. */
  secret: string | null;
  expires: number;
}

/** The session a proxied request is for (set before it is handed to the proxy; its errors need it). */
const sessionOf = new WeakMap<IncomingMessage, string>();

/**
 * Proxies a session's own origin, `<id>.<SESSIONS_DOMAIN>` (HTTP and WebSocket), to its program,
 * for its owner only. A browser opens it once with `?token=<API token>`: the gateway answers with
 * a host-only cookie holding a credential for this one session (never the token) and a redirect
 * without the token. Anyone who is not the owner gets 404, as if the session did not exist.
 * Requests from pages of other origins may not change anything nor open WebSockets.
 */
@Injectable()
export class SessionProxy implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionProxy.name);
  // Kept-alive connections to the programs: a notebook page is dozens of requests. HTTP goes
  // through undici's pool (HttpForwarder), WebSockets through http-proxy-3.
  private readonly forwarder = new HttpForwarder();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
  private readonly proxy = createProxyServer({ xfwd: false, ws: true, agent: this.agent });
  private readonly routes = new Map<string, Route>();
  private readonly lastActivity = new Map<string, number>();
  private readonly credentials: OriginCredentials;
  private readonly origins: Origins;
  private readonly cookieName: string;
  private statusChanges: Subscription | undefined;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly rpc: RpcClient,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.credentials = new OriginCredentials(config.origins.cookieSecret, config.origins.cookieTtlMs);
    this.origins = new Origins(config);
    this.cookieName = credentialCookieName(SESSION_COOKIE, this.origins.secure);
    sanitiseWebSocketAnswers(this.proxy);
    // http-proxy-3 carries WebSockets only (HTTP goes through the forwarder): its target is the socket.
    this.proxy.on('error', (error, req, target) => {
      this.logSessionFailure(error, req);
      (target as Duplex | undefined)?.destroy();
    });
  }

  /** Every request to a session's origin (the gateway dispatches on `Host`). Bodies stream through. */
  handle(id: string, req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('Referrer-Policy', 'no-referrer');
    this.handleHttp(id, req, res).catch((error: unknown) => {
      proxied.inc({ kind: 'http', outcome: 'refused' });
      sendProblem(error, req, res, this.logger);
    });
  }

  /** WebSockets (Jupyter kernels) to a session's origin. */
  upgrade(id: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node drops its own error listener on upgrade: a client that resets while we authenticate
    // would otherwise raise an unhandled 'error' and take the gateway down.
    socket.on('error', () => socket.destroy());
    this.handleUpgrade(id, req, socket, head).catch((error: unknown) => {
      proxied.inc({ kind: 'ws', outcome: 'refused' });
      const code = error instanceof DomainError ? error.code : undefined;
      if (code === CommonErrorCode.UNAUTHENTICATED) refuseUpgrade(socket, 401, 'Unauthorized');
      else if (code === CommonErrorCode.CROSS_ORIGIN_FORBIDDEN) refuseUpgrade(socket, 403, 'Forbidden');
      else if (code === CommonErrorCode.VALIDATION_FAILED) refuseUpgrade(socket, 400, 'Bad Request');
      else if (code === CommonErrorCode.SERVICE_UNAVAILABLE) refuseUpgrade(socket, 503, 'Service Unavailable');
      else refuseUpgrade(socket, 404, 'Not Found');
    });
  }

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

  async onApplicationShutdown(): Promise<void> {
    this.statusChanges?.unsubscribe();
    this.proxy.close();
    this.agent.destroy();
    await this.forwarder.close();
  }

  /** The program did not answer (or broke off): its route may be stale, and the client gets a 503 if nothing was sent yet. */
  /** Says what failed, and drops the session's cached route (it may have moved). */
  private logSessionFailure(error: Error, req: IncomingMessage): void {
    this.logger.warn(`proxying ${req.url ?? ''} to session ${sessionOf.get(req) ?? '?'} failed: ${error.message}`);
    const id = sessionOf.get(req);
    if (id) this.forget(id);
  }

  private failed(error: Error, req: IncomingMessage, res: ServerResponse): void {
    this.logSessionFailure(error, req);
    if (!res.headersSent) {
      sendProblem(
        new DomainError(CommonErrorCode.SERVICE_UNAVAILABLE, 'the session did not answer; it may be restarting, try again in a moment'),
        req,
        res,
        this.logger,
      );
    } else res.destroy(); // part of the answer went out: breaking off says so (an end would make it look whole)
  }

  private forget(id: string): void {
    for (const key of this.routes.keys()) if (key.startsWith(`${id}\0`)) this.routes.delete(key);
  }

  private async handleHttp(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    dropForwardingHeaders(req);
    const target = normalisedTarget(req.url);
    const token = target.search.get(TOKEN_PARAM);
    if (token) {
      // Trade the token for a credential of this session only, and take the token out of the
      // address bar and history. Only for the session's owner: a cookie planted by someone
      // else's link would lead the browser into their session.
      const caller = await this.verifier.verify(`Bearer ${token}`);
      await this.rpc.call(rpc.get, { caller, id });
      const credential = this.credentials.issue({ kind: 'session', id }, caller, tokenExpiry(token));
      res.setHeader('Set-Cookie', credentialCookie(this.cookieName, credential, this.origins.secure));
      res.setHeader('Cache-Control', 'no-store');
      seeOther(res, redirectTarget(target));
      return;
    }
    refuseForeignUse(req, this.origins.session(id));
    // A page's requests, signed in by its cookie, to a session whose route is kept: nothing to
    // wait for (each await is a promise and a turn of the loop on every proxied request).
    const caller = (!req.headers.authorization && this.fromCookie(id, req)) || (await this.authenticate(id, req));
    const route = this.keptRoute(id, caller) ?? (await this.routeFor(id, caller));
    this.noteActivity(id);
    req.url = forwardedUrl(target);
    this.prepare(id, req, route);
    proxied.inc({ kind: 'http', outcome: 'proxied' });
    this.forwarder.forward(req, res, { origin: route.endpoint, onResponse: sanitiseResponseHeaders, onError: (error) => this.failed(error, req, res) });
  }

  private async handleUpgrade(id: string, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    dropForwardingHeaders(req);
    const target = normalisedTarget(req.url);
    // A page of another origin must not open the owner's kernel, whatever cookie its browser sends.
    if (!fromOwnOrigin(req, this.origins.session(id))) throw crossOrigin();
    const caller = await this.authenticate(id, req, target.search.get(TOKEN_PARAM));
    const route = await this.routeFor(id, caller);
    this.noteActivity(id);
    req.url = forwardedUrl(target);
    this.prepare(id, req, route);
    // A kernel's traffic is use: count it while the socket lives, not only when it opens.
    socket.on('data', () => this.noteActivity(id));
    proxied.inc({ kind: 'ws', outcome: 'proxied' });
    this.proxy.ws(req, socket, head, { target: route.endpoint });
  }

  /** A bearer token (programs, curl), the cookie of this origin (browsers), or a `?token=` on a WebSocket. */
  private async authenticate(id: string, req: IncomingMessage, token?: string | null): Promise<Principal> {
    if (req.headers.authorization) return this.verifier.verify(req.headers.authorization);
    const fromCookie = this.fromCookie(id, req);
    if (fromCookie) return fromCookie;
    if (token) return this.verifier.verify(`Bearer ${token}`);
    const cookie = req.headers.cookie ? parseCookie(req.headers.cookie)[this.cookieName] : undefined;
    throw new DomainError(
      CommonErrorCode.UNAUTHENTICATED,
      `${cookie ? 'your sign-in to this session has expired; ' : ''}open ${this.origins.session(id)}/?${TOKEN_PARAM}=<your API token> once: the gateway then keeps a cookie for this session`,
    );
  }

  /** The caller the cookie of this session's origin names, if it is a valid one. */
  private fromCookie(id: string, req: IncomingMessage): Principal | null {
    const cookie = req.headers.cookie ? parseCookie(req.headers.cookie)[this.cookieName] : undefined;
    return this.credentials.verify(cookie, { kind: 'session', id });
  }

  /** Kept per session and caller as authorised: the user, and whether as an administrator (a token may say either). */
  private routeKey(id: string, caller: Principal): string {
    return `${id}\0${caller.userId}\0${caller.admin ? 'admin' : 'user'}`;
  }

  private keptRoute(id: string, caller: Principal): Route | undefined {
    const kept = this.routes.get(this.routeKey(id, caller));
    return kept && kept.expires > Date.now() ? kept : undefined;
  }

  private async routeFor(id: string, caller: Principal): Promise<Route> {
    const kept = this.keptRoute(id, caller);
    if (kept) return kept;
    const key = this.routeKey(id, caller);
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
    const fresh: Route = { endpoint: route.endpoint, secret: route.secret ?? null, expires: Date.now() + ROUTE_CACHE_MS };
    this.routes.set(key, fresh);
    if (this.routes.size > 10_000) this.routes.clear();
    return fresh;
  }

  /**
   * The session's program is the user's own code: it gets neither their API token nor our
   * cookie, nor the ?token= link. What it does get is its own credential (Jupyter's token), so
   * that it keeps its own authentication on and nothing else on its port can use it.
   */
  private prepare(id: string, req: IncomingMessage, route: Route): void {
    sessionOf.set(req, id);
    const cookie = withoutCookie(req.headers.cookie, this.cookieName);
    if (cookie) req.headers.cookie = cookie;
    else delete req.headers.cookie;
    if (route.secret) req.headers.authorization = `token ${route.secret}`;
    else delete req.headers.authorization;
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

function crossOrigin(): DomainError {
  return new DomainError(CommonErrorCode.CROSS_ORIGIN_FORBIDDEN, 'a page of another origin may not change this session or open its WebSockets');
}

/**
 * A session answers its own pages only (see foreignUse): no frames, scripts, images or fetches of
 * another page get the owner's content, even where the cookie would be sent.
 */
function refuseForeignUse(req: IncomingMessage, own: string): void {
  const use = foreignUse(req, own);
  if (use === 'state-change') throw crossOrigin();
  if (use === 'embedded') throw new DomainError(CommonErrorCode.CROSS_ORIGIN_FORBIDDEN, 'a session is not served to pages of other origins; open it in its own tab');
}
