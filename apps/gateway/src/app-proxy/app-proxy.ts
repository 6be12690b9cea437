import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CALLER_HEADER, APP_CALLER_SIGNATURE_HEADER, CommonErrorCode, DomainError, type Principal, signCaller } from '@launchpad/contracts';
import { HttpForwarder } from '@launchpad/proxying';
import { counter } from '@launchpad/telemetry';
import { parseCookie } from 'cookie';
import { createProxyServer } from 'http-proxy-3';
import { GATEWAY_CONFIG, TokenVerifier } from '../auth/token-verifier.js';
import type { GatewayConfig } from '../config.js';
import { ActivatorUpstreams, hasNoBody, neverReached } from './activator-upstreams.js';
import { APP_COOKIE, credentialCookie, credentialCookieName, OriginCredentials, tokenExpiry } from '../origins/origin-credential.js';
import { Origins } from '../origins/origins.js';
import { dropForwardingHeaders, foreignUse, forwardedUrl, fromOwnOrigin, normalisedTarget, redirectTarget, refuseUpgrade, seeOther, sanitiseResponseHeaders, sanitiseWebSocketAnswers, TOKEN_PARAM, withoutCookie } from '../origins/proxy-hygiene.js';
import { sendProblem } from '../problems/problem.filter.js';

export { APP_COOKIE };

const proxied = counter('launchpad_app_proxy_requests_total', 'Requests the gateway passed to the apps activator', ['kind', 'outcome']);

/** What the activator is asked for: `/a/<slug>` and the app's own path (its internal addressing; the app sees only its path). */
export const activatorPath = (slug: string, pathAndQuery: string) => `/a/${slug}${pathAndQuery}`;

/**
 * An app's own origin, `<slug>.<APPS_DOMAIN>` (HTTP, streamed bodies, SSE and WebSocket), passed on
 * to the apps service's activator, which knows the app and decides who may open it. Signing in is
 * optional: a bearer token, or the host-only cookie a `?token=` link left (a credential for this
 * app only, never the token). Every forwarded request carries the caller as the gateway verified
 * it (or nobody), signed with the secret the gateway shares with the apps service, for exactly the
 * method and normalised path forwarded, with a nonce; the activator believes nothing else. The app
 * gets neither token nor cookie, and WebSockets from pages of other origins are refused.
 */
@Injectable()
export class AppProxy implements OnApplicationShutdown {
  private readonly logger = new Logger(AppProxy.name);
  // HTTP through undici's pool (HttpForwarder), WebSockets through http-proxy-3.
  private readonly forwarder = new HttpForwarder();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
  private readonly proxy = createProxyServer({ xfwd: false, ws: true, agent: this.agent });
  private readonly credentials: OriginCredentials;
  private readonly origins: Origins;
  private readonly activators: ActivatorUpstreams;
  private readonly cookieName: string;

  constructor(
    private readonly verifier: TokenVerifier,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.activators = new ActivatorUpstreams(config.apps.activatorUrls);
    this.credentials = new OriginCredentials(config.origins.cookieSecret, config.origins.cookieTtlMs);
    this.origins = new Origins(config);
    this.cookieName = credentialCookieName(APP_COOKIE, this.origins.secure);
    sanitiseWebSocketAnswers(this.proxy);
    // http-proxy-3 carries WebSockets only (HTTP goes through the forwarder): its target is the socket.
    this.proxy.on('error', (error, req, target) => {
      this.logger.warn(`passing ${req.url ?? ''} to the apps activator failed: ${error.message}`);
      (target as Duplex | undefined)?.destroy();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.proxy.close();
    this.agent.destroy();
    await this.forwarder.close();
  }

  /** Every request to an app's origin (the gateway dispatches on `Host`). Bodies stream through. */
  handle(slug: string, req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('Referrer-Policy', 'no-referrer');
    this.handleHttp(slug, req, res).catch((error: unknown) => {
      proxied.inc({ kind: 'http', outcome: 'refused' });
      sendProblem(error, req, res, this.logger);
    });
  }

  upgrade(slug: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    this.handleUpgrade(slug, req, socket, head).catch((error: unknown) => {
      proxied.inc({ kind: 'ws', outcome: 'refused' });
      const code = error instanceof DomainError ? error.code : undefined;
      if (code === CommonErrorCode.CROSS_ORIGIN_FORBIDDEN) refuseUpgrade(socket, 403, 'Forbidden');
      else if (code === CommonErrorCode.VALIDATION_FAILED) refuseUpgrade(socket, 400, 'Bad Request');
      else refuseUpgrade(socket, 401, 'Unauthorized');
    });
  }

  private async handleHttp(slug: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    dropForwardingHeaders(req);
    const target = normalisedTarget(req.url);
    const token = target.search.get(TOKEN_PARAM);
    if (token) {
      // A link with a token once: a credential for this app only, in a cookie of its own origin, and the token out of the address bar.
      const caller = await this.verifier.verify(`Bearer ${token}`);
      const credential = this.credentials.issue({ kind: 'app', slug }, caller, tokenExpiry(token));
      res.setHeader('Set-Cookie', credentialCookie(this.cookieName, credential, this.origins.secure));
      res.setHeader('Cache-Control', 'no-store');
      seeOther(res, redirectTarget(target));
      return;
    }
    const caller = await this.authenticate(slug, req);
    prepare(req, slug, forwardedUrl(target), caller, this.config.apps.callerSecret, this.cookieName);
    proxied.inc({ kind: 'http', outcome: 'passed' });
    this.forwardWeb(req, res, this.activators.order());
  }

  private async handleUpgrade(slug: string, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    dropForwardingHeaders(req);
    const target = normalisedTarget(req.url);
    // Cross-site WebSocket hijacking: a page elsewhere would open it with the visitor's cookie.
    if (!fromOwnOrigin(req, this.origins.app(slug))) {
      throw new DomainError(CommonErrorCode.CROSS_ORIGIN_FORBIDDEN, 'a page of another origin may not open this app\'s WebSockets');
    }
    const token = target.search.get(TOKEN_PARAM);
    // A `?token=` on a WebSocket signs this one connection in; it never reaches the app (forwardedUrl drops it).
    const caller = token ? await this.verifier.verify(`Bearer ${token}`) : await this.authenticate(slug, req);
    prepare(req, slug, forwardedUrl(target), caller, this.config.apps.callerSecret, this.cookieName);
    proxied.inc({ kind: 'ws', outcome: 'passed' });
    this.forwardWs(req, socket, head);
  }

  /**
   * To the first activator that takes the connection: one that refuses it is passed over for a
   * while, and a request without a body goes on to the next (one with a body has been streamed
   * to the failed one, so it gets the 503 and the client's retry goes elsewhere).
   */
  private forwardWeb(req: IncomingMessage, res: ServerResponse, [target, ...rest]: string[]): void {
    if (!target) return;
    this.forwarder.forward(req, res, {
      origin: target,
      onResponse: sanitiseResponseHeaders,
      onError: (error) => {
        if (neverReached(error)) {
          this.activators.failed(target);
          if (rest.length > 0 && hasNoBody(req.headers) && !res.headersSent) {
            this.logger.warn(`apps activator ${target} is not answering (${error.message}); trying ${rest[0]}`);
            return this.forwardWeb(req, res, rest);
          }
        }
        this.webFailed(error, req, res);
      },
    });
  }

  private webFailed(error: Error, req: IncomingMessage, res: ServerResponse): void {
    this.logger.warn(`passing ${req.url ?? ''} to the apps activator failed: ${error.message}`);
    // Part of an answer went out: breaking the connection off says so (an end would make it look whole).
    if (res.headersSent) return void res.destroy();
    proxied.inc({ kind: 'http', outcome: 'activator-down' });
    sendProblem(new DomainError(CommonErrorCode.SERVICE_UNAVAILABLE, 'the apps service is not answering; try again in a moment'), req, res, this.logger);
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
   * longer is (expired, or another app's) counts as nobody, as a link opened without signing in does.
   */
  private async authenticate(slug: string, req: IncomingMessage): Promise<Principal | null> {
    if (req.headers.authorization) return this.verifier.verify(req.headers.authorization);
    // What another page makes the browser ask (a sibling app's is same-site, so the cookie goes
    // along) gets nobody's access: a public app still answers it, a members-only one does not
    // (no CSRF, no embedding a member's view elsewhere).
    if (foreignUse(req, this.origins.app(slug))) return null;
    const cookie = req.headers.cookie ? parseCookie(req.headers.cookie)[this.cookieName] : undefined;
    return this.credentials.verify(cookie, { kind: 'app', slug });
  }
}

/**
 * What the activator and the app get: the path the gateway normalised and authorised, the caller
 * as the gateway verified it (or nobody), signed for this method and path (a client's own copy of
 * the headers is dropped), and none of the caller's credentials, which the app (user code) must
 * never see.
 */
export function prepare(req: IncomingMessage, slug: string, pathAndQuery: string, caller: Principal | null, secret: string, cookieName: string): void {
  req.url = activatorPath(slug, pathAndQuery);
  delete req.headers[APP_CALLER_HEADER];
  delete req.headers[APP_CALLER_SIGNATURE_HEADER];
  Object.assign(req.headers, signCaller(secret, caller, req.method ?? 'GET', req.url));
  delete req.headers.authorization;
  const cookie = withoutCookie(req.headers.cookie, cookieName);
  if (cookie) req.headers.cookie = cookie;
  else delete req.headers.cookie;
}
