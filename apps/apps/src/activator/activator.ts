import { randomBytes } from 'node:crypto';
import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import {
  APP_ACTIVATION_HEADER,
  APP_CALLER_HEADER,
  APP_CALLER_SIGNATURE_HEADER,
  APP_CONCURRENCY_SUBJECT,
  APP_ROUTE_SUBJECT,
  APP_WAKE_SUBJECT,
  type AppConcurrencyReport,
  type AppRoute,
  appRouteSchema,
  type Principal,
  verifyCaller,
} from '@launchpad/contracts';
import { jsonOf, NATS_CONNECTION } from '@launchpad/messaging';
import { counter, histogram } from '@launchpad/telemetry';
import { createProxyServer } from 'http-proxy-3';
import { DataSource } from 'typeorm';
import { APPS_CONFIG, type AppsConfig } from '../config.js';
import { Routes } from '../routing/route-source.js';
import { ActivationQueue, QueueFullError, WakeTimeoutError } from './activation-queue.js';
import { type AccessRule, mayOpen, needsMembership } from './app-access.js';
import { ConcurrencyMeter } from './concurrency-meter.js';
import { LeastOutstanding } from './least-outstanding.js';
import { APP_FAILED, APP_OFF, APP_UNAVAILABLE, NO_APP, type Page, sendPage } from './pages.js';
import { type RouteChange, RouteTable } from './route-table.js';

const requests = counter('launchpad_activator_requests_total', 'Requests the activator answered or forwarded', ['kind', 'outcome']);
const coldWaits = histogram('launchpad_activator_wait_seconds', 'How long requests waited for a replica of an app with none ready', [], [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]);

const MEMBER_CACHE_MS = 5000;
/** Requests without a body are sent to another replica when the first refuses the connection (it just stopped). */
const RETRIES = 3;

/** The app is off, failed or gone while requests waited: they get its page. */
class PageError extends Error {
  constructor(readonly page: (slug: string) => Page) {
    super('the app cannot be served');
  }
}

interface Target {
  slug: string;
  /** What follows `/a/<slug>`: '' or '?...' (no slash yet), or a path starting with '/'. */
  rest: string;
}

/** Whether a request is for an app (`/a/<slug>...`), rather than for the service itself. */
export const isAppTraffic = (url: string | undefined) => url !== undefined && url.startsWith('/a/');

/** What a slug can be (see apps/slug.ts); nothing is decoded, so nothing can fail to decode. */
const SLUG = /^[a-z0-9-]{1,100}$/;

/** The app and the rest of the path of `/a/<slug>...`; null for anything else, a malformed slug included (404). */
export function parseTarget(url: string): Target | null {
  const match = /^\/a\/([^/?#]+)(.*)$/s.exec(url);
  if (!match || !SLUG.test(match[1]!)) return null;
  return { slug: match[1]!, rest: match[2] ?? '' };
}

interface Forwarding {
  waitedMs: number | null;
  prefix: string | null;
}

/**
 * The reverse proxy in front of every app replica, on the apps service's own port (the gateway
 * forwards `/a/<slug>/...` here). A chain of small steps, as Knative's activator: find the app's
 * route, check who may open it, count the request, wait for a replica if none is ready (one wake
 * per app, a bounded queue, a deadline), pick the replica with the fewest requests outstanding,
 * and forward (HTTP with streamed bodies and SSE, or WebSocket).
 */
@Injectable()
export class Activator implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger(Activator.name);
  private readonly table = new RouteTable((change) => this.routeChanged(change));
  private readonly queue: ActivationQueue;
  private readonly balancer = new LeastOutstanding();
  private readonly meter = new ConcurrencyMeter();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
  private readonly proxy = createProxyServer({ xfwd: true, ws: true, agent: this.agent });
  private readonly forwarding = new WeakMap<IncomingMessage, Forwarding>();
  private readonly members = new Map<string, { role: string | null; expires: number }>();
  private subscription: Subscription | undefined;
  private timers: NodeJS.Timeout[] = [];
  private loaded = false;

  constructor(
    private readonly routes: Routes,
    private readonly dataSource: DataSource,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(APPS_CONFIG) private readonly config: AppsConfig,
  ) {
    this.queue = new ActivationQueue({
      limit: config.activator.queueLimit,
      timeoutMs: config.activator.wakeTimeoutMs,
      wake: (appId) => this.publish(APP_WAKE_SUBJECT, { appId, activator: this.id, at: new Date().toISOString() }),
    });
    // Errors of a request are handled by its own callback (see serveHttp, serveUpgrade); what the
    // proxy emits besides (a WebSocket client's socket failing, say) must not reach its default
    // listener, which throws.
    this.proxy.on('error', (error, req, target) => {
      this.logger.debug(`proxying ${req?.url ?? ''} failed: ${error.message}`);
      if (target && 'writeHead' in target) answer(req, target as ServerResponse, APP_UNAVAILABLE('', 'the app did not answer', 1));
      else (target as Duplex | undefined)?.destroy();
    });
    this.proxy.on('proxyRes', (proxyRes, req) => {
      const forwarding = this.forwarding.get(req);
      if (!forwarding) return;
      if (forwarding.waitedMs !== null) proxyRes.headers[APP_ACTIVATION_HEADER] = `cold-start; waited=${forwarding.waitedMs}ms`;
      // An app served at its root redirects to its own paths: keep them under the share link.
      const location = proxyRes.headers.location;
      if (forwarding.prefix && typeof location === 'string' && location.startsWith('/') && !location.startsWith('//')) {
        proxyRes.headers.location = `${forwarding.prefix}${location}`;
      }
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscription = this.nc.subscribe(APP_ROUTE_SUBJECT, {
      callback: (err, msg) => {
        if (err) return;
        const route = appRouteSchema.safeParse(jsonOf(msg));
        if (route.success) this.table.apply(route.data);
      },
    });
    await this.refresh();
    this.timers.push(setInterval(() => void this.refresh(), this.config.activator.routeRefreshMs));
    this.timers.push(setInterval(() => this.report(), this.config.activator.reportIntervalMs));
    for (const timer of this.timers) timer.unref();
  }

  onApplicationShutdown(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.subscription?.unsubscribe();
    this.queue.close(new PageError((slug) => APP_UNAVAILABLE(slug, 'the activator is restarting', 1)));
    this.proxy.close();
    this.agent.destroy();
  }

  /**
   * The HTTP server's handler for `/a/...` (see isAppTraffic): nothing parses the body, it streams
   * through. Nothing may be thrown out of it (it would end the process): what goes wrong is a page.
   */
  readonly serve = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      const target = parseTarget(req.url ?? '');
      if (!target) return answer(req, res, NO_APP(''));
      this.serveHttp(target, req, res).catch((error: unknown) => this.failed(error, req, () => answer(req, res, APP_UNAVAILABLE(target.slug, 'something went wrong in the activator', 1))));
    } catch (error) {
      this.failed(error, req, () => answer(req, res, APP_UNAVAILABLE('', 'something went wrong in the activator', 1)));
    }
  };

  /** The HTTP server's `upgrade` listener: WebSockets to the app. Never throws, as `serve`. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Before anything else: a reset socket without an 'error' listener would end the process.
    socket.on('error', () => socket.destroy());
    try {
      const target = parseTarget(req.url ?? '');
      if (!target) return refuseUpgrade(socket, 404, 'Not Found');
      this.serveUpgrade(target, req, socket, head).catch((error: unknown) => this.failed(error, req, () => refuseUpgrade(socket, 503, 'Service Unavailable')));
    } catch (error) {
      this.failed(error, req, () => refuseUpgrade(socket, 503, 'Service Unavailable'));
    }
  };

  /** Logs an unexpected error and answers with `reply`, which must not throw either. */
  private failed(error: unknown, req: IncomingMessage, reply: () => void): void {
    try {
      this.logger.error({ err: error }, `activator failed on ${req.method ?? ''} ${req.url ?? ''}: ${(error as Error)?.message}`);
    } catch {
      // a logger that throws changes nothing about the answer
    }
    reply();
  }

  /** What requests for the app hold in this activator now: counted as in flight or queued, plus replica slots taken. */
  holding(appId: string): number {
    const endpoints = this.table.byAppId(appId)?.endpoints ?? [];
    return this.meter.current(appId) + endpoints.reduce((sum, e) => sum + this.balancer.count(e), 0);
  }

  // --- the chain -------------------------------------------------------------------------

  private async serveHttp(target: Target, req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Listened for before anything is awaited: a client that leaves at any point releases what
    // it holds (see `release`), exactly once.
    const abort = new AbortController();
    let release = () => undefined as void;
    res.once('close', () => {
      abort.abort(new Error('the client went away'));
      release();
    });
    const admitted = await this.admit(target, req);
    if (abort.signal.aborted) return;
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
    this.meter.arrived(appId);
    let endpoint: string;
    let waitedMs: number | null;
    try {
      ({ endpoint, waitedMs } = await this.replicaFor(appId, abort.signal));
    } catch (error) {
      this.meter.abandoned(appId);
      if (abort.signal.aborted) return;
      const page = this.refusal(error, route);
      requests.inc({ kind: 'http', outcome: page.code });
      return answer(req, res, page);
    }
    this.meter.started(appId);
    // The replica the request holds now (null between two tries), given back when the client leaves.
    let current: string | null = endpoint;
    release = () => {
      release = () => undefined;
      if (current) this.balancer.done(current);
      this.meter.finished(appId);
    };
    // Resumed only after a microtask: a client gone meanwhile left nothing to give back to.
    if (abort.signal.aborted) return release();
    // Waiting, the route may have changed (its command was found meanwhile, and with it where it is served).
    route = this.table.byAppId(appId) ?? route;
    const forwarding: Forwarding = { waitedMs, prefix: route.stripPrefix ? `/a/${route.slug}` : null };
    this.forwarding.set(req, forwarding);
    this.rewrite(req, route, target);
    const attempt = (replica: string, left: number) => {
      this.proxy.web(req, res, { target: replica }, (error) => {
        const refused = (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
        if (refused) this.table.markDown(appId, replica);
        if (refused && left > 0 && !res.headersSent && !hasBody(req) && !abort.signal.aborted) {
          // It just stopped (scaled down, crashed): nothing reached it, so another replica may answer.
          this.balancer.done(replica);
          current = null;
          this.replicaFor(appId, abort.signal)
            .then((next) => {
              current = next.endpoint;
              if (next.waitedMs !== null) forwarding.waitedMs = (forwarding.waitedMs ?? 0) + next.waitedMs;
              attempt(next.endpoint, left - 1);
            })
            .catch((failure: unknown) => {
              if (!abort.signal.aborted) answer(req, res, this.refusal(failure, route));
            });
          return;
        }
        requests.inc({ kind: 'http', outcome: 'replica-error' });
        this.logger.warn({ appId }, `replica ${replica} of app ${route.slug} failed a request: ${(error as Error).message}`);
        answer(req, res, APP_UNAVAILABLE(route.slug, 'the app did not answer', 1));
      });
    };
    requests.inc({ kind: 'http', outcome: waitedMs === null ? 'forwarded' : 'forwarded-after-wake' });
    attempt(endpoint, RETRIES);
  }

  private async serveUpgrade(target: Target, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
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
    const admitted = await this.admit(target, req);
    if (abort.signal.aborted) return;
    if ('code' in admitted) {
      requests.inc({ kind: 'ws', outcome: admitted.code });
      return refuseUpgrade(socket, admitted.status, admitted.title);
    }
    let route = admitted;
    const appId = route.appId;
    this.meter.arrived(appId);
    let endpoint: string;
    try {
      ({ endpoint } = await this.replicaFor(appId, abort.signal));
    } catch (error) {
      this.meter.abandoned(appId);
      if (!abort.signal.aborted) {
        const page = this.refusal(error, route);
        refuseUpgrade(socket, page.status, page.title);
      }
      return;
    }
    this.meter.started(appId);
    // An open WebSocket is a request in flight for as long as it lives: the app keeps a replica.
    release = () => {
      release = () => undefined;
      this.balancer.done(endpoint);
      this.meter.finished(appId);
    };
    if (abort.signal.aborted || socket.destroyed) return release();
    route = this.table.byAppId(appId) ?? route;
    this.rewrite(req, route, target);
    socket.off('end', leftEarly);
    requests.inc({ kind: 'ws', outcome: 'forwarded' });
    this.proxy.ws(req, socket, head, { target: endpoint }, (error) => {
      this.logger.warn({ appId }, `WebSocket to replica ${endpoint} of app ${route.slug} failed: ${(error as Error).message}`);
      socket.destroy();
    });
  }

  /** Which app, and may this caller open it: its route, or the page to answer with. */
  private async admit(target: Target, req: IncomingMessage): Promise<AppRoute | Page> {
    const caller = this.callerOf(req);
    const route = this.table.bySlugName(target.slug);
    if (!route || !(await this.mayOpen(route, caller))) return NO_APP(target.slug);
    if (route.status === 'inactive') return APP_OFF(route.slug);
    if (route.status === 'failed') return APP_FAILED(route.slug);
    return route;
  }

  /** A ready replica, waiting (once woken) for one when there is none; how long it waited, if it did. */
  private async replicaFor(appId: string, signal: AbortSignal): Promise<{ endpoint: string; waitedMs: number | null }> {
    const first = this.balancer.pick(this.table.endpoints(appId));
    if (first) return { endpoint: first, waitedMs: null };
    const started = performance.now();
    for (;;) {
      await this.queue.wait(appId, signal);
      const endpoint = this.balancer.pick(this.table.endpoints(appId));
      if (endpoint) {
        const waited = performance.now() - started;
        coldWaits.observe(waited / 1000);
        return { endpoint, waitedMs: Math.round(waited) };
      }
    }
  }

  private refusal(error: unknown, route: AppRoute): Page {
    if (error instanceof PageError) return error.page(route.slug);
    if (error instanceof QueueFullError) return APP_UNAVAILABLE(route.slug, `${error.limit} requests are already waiting for it to start`, 5);
    if (error instanceof WakeTimeoutError) return APP_UNAVAILABLE(route.slug, `it did not start within ${Math.round(error.timeoutMs / 1000)} s`, 10);
    this.logger.error({ err: error }, `could not find a replica of app ${route.slug}: ${(error as Error).message}`);
    return APP_UNAVAILABLE(route.slug, 'something went wrong in the activator', 1);
  }

  /** The app sees neither the gateway's word on the caller nor, when served at its root, the share link prefix. */
  private rewrite(req: IncomingMessage, route: AppRoute, target: Target): void {
    delete req.headers[APP_CALLER_HEADER];
    delete req.headers[APP_CALLER_SIGNATURE_HEADER];
    if (route.stripPrefix) {
      req.url = target.rest.startsWith('/') ? target.rest : `/${target.rest}`;
      req.headers['x-forwarded-prefix'] = `/a/${route.slug}`;
    }
  }

  // --- who --------------------------------------------------------------------------------

  /** The caller the gateway vouches for (a valid signature for this very request), or nobody. */
  private callerOf(req: IncomingMessage): Principal | null {
    return verifyCaller(
      this.config.activator.callerSecret,
      { caller: req.headers[APP_CALLER_HEADER], signature: req.headers[APP_CALLER_SIGNATURE_HEADER] },
      req.method ?? 'GET',
      req.url ?? '',
    );
  }

  private async mayOpen(route: AccessRule & { projectId: string }, caller: Principal | null): Promise<boolean> {
    if (!caller || !needsMembership(route, caller)) return mayOpen(route, caller, null);
    return mayOpen(route, caller, await this.roleOf(route.projectId, caller.userId));
  }

  private async roleOf(projectId: string, userId: string): Promise<string | null> {
    const key = `${projectId}\0${userId}`;
    const cached = this.members.get(key);
    if (cached && cached.expires > Date.now()) return cached.role;
    const rows: { role: string }[] = await this.dataSource.query(`SELECT role FROM catalogue_members WHERE project_id = $1 AND user_id = $2`, [projectId, userId]);
    const role = rows[0]?.role ?? null;
    if (this.members.size > 10_000) this.members.clear();
    this.members.set(key, { role, expires: Date.now() + MEMBER_CACHE_MS });
    return role;
  }

  // --- routes and reports -----------------------------------------------------------------

  private routeChanged(change: RouteChange): void {
    if ('deleted' in change) return this.queue.fail(change.deleted, new PageError(NO_APP));
    const { route } = change;
    if (route.status === 'inactive') this.queue.fail(route.appId, new PageError(APP_OFF));
    else if (route.status === 'failed') this.queue.fail(route.appId, new PageError(APP_FAILED));
    else if (this.table.endpoints(route.appId).length > 0) this.queue.ready(route.appId);
  }

  private async refresh(): Promise<void> {
    try {
      this.table.replaceAll(await this.routes.all());
      this.loaded = true;
    } catch (error) {
      this.logger.warn(`could not read the app routes${this.loaded ? '' : ' yet'}: ${(error as Error).message}`);
    }
  }

  /** Per app: in flight plus queued, averaged over the interval; per replica, what is in flight there: for the scaler's leader. */
  private report(): void {
    const apps = this.meter.report();
    const outstanding = this.balancer.all();
    if (apps.length === 0 && Object.keys(outstanding).length === 0) return;
    const report: AppConcurrencyReport = {
      activator: this.id,
      at: new Date().toISOString(),
      apps: apps.map((a) => ({ ...a, lastRequestAt: a.lastRequestAt === null ? null : new Date(a.lastRequestAt).toISOString() })),
      outstanding,
    };
    this.publish(APP_CONCURRENCY_SUBJECT, report);
  }

  private publish(subject: string, body: unknown): void {
    try {
      this.nc.publish(subject, JSON.stringify(body));
    } catch (error) {
      this.logger.debug(`could not publish on ${subject}: ${(error as Error).message}`);
    }
  }
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** The page, or (once the app's response has begun) the end of the connection. Never throws. */
function answer(req: IncomingMessage, res: ServerResponse, page: Page): void {
  try {
    sendPage(req, res, page);
  } catch {
    res.destroy();
  }
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  try {
    if (!socket.destroyed) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  } catch {
    socket.destroy();
  }
}
