import { randomBytes } from 'node:crypto';
import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { APP_CONCURRENCY_SUBJECT, APP_WAKE_SUBJECT, type AppConcurrencyReport, type AppWake } from '@launchpad/contracts';
import { NATS_CONNECTION } from '@launchpad/messaging';
import { HttpForwarder } from '@launchpad/proxying';
import { createProxyServer } from 'http-proxy-3';
import { DataSource } from 'typeorm';
import { APPS_CONFIG, type AppsConfig } from '../config.js';
import { Routes } from '../routing/route-source.js';
import { Admission } from './admission.js';
import { answer, PageError, refuseUpgrade } from './answers.js';
import { type Chain, type Forwarding, rewriteResponseHeaders } from './chain.js';
import { ConcurrencyMeter } from './concurrency-meter.js';
import { serveHttp } from './http-handler.js';
import { APP_UNAVAILABLE, NO_APP } from './pages.js';
import { RouteFeed } from './route-feed.js';
import { RouteTable } from './route-table.js';
import { parseTarget } from './target.js';
import { Throttler } from './throttler.js';
import { serveUpgrade } from './websocket-handler.js';

export { isAppTraffic, parseTarget } from './target.js';

/**
 * The reverse proxy in front of every app replica, on the apps service's own port (the gateway
 * forwards `/a/<slug>/...` here). A chain of small handlers, as Knative's activator: find the
 * app's route and check who may open it (admission.ts), count the request (concurrency-meter.ts),
 * give it a slot on a replica with room or hold it until one has room, waking an app at zero
 * (throttler.ts), and forward it (http-handler.ts, websocket-handler.ts). The route table is kept
 * by route-feed.ts; what it holds is reported to the scaler from here.
 */
@Injectable()
export class Activator implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger(Activator.name);
  private readonly table = new RouteTable((change) => this.throttler.routeChanged(change));
  private readonly throttler: Throttler;
  private readonly meter = new ConcurrencyMeter();
  // HTTP to the replicas through undici's pool (HttpForwarder), WebSockets through http-proxy-3.
  private readonly forwarder = new HttpForwarder({ xfwd: true });
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
  private readonly proxy = createProxyServer({ xfwd: true, ws: true, agent: this.agent });
  private readonly forwarding = new WeakMap<IncomingMessage, Forwarding>();
  private readonly chain: Chain;
  private readonly feed: RouteFeed;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    routes: Routes,
    dataSource: DataSource,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(APPS_CONFIG) private readonly config: AppsConfig,
  ) {
    this.throttler = new Throttler(this.table, {
      queueLimit: config.activator.queueLimit,
      wakeTimeoutMs: config.activator.wakeTimeoutMs,
      wake: (appId, waiting, replicas) => {
        const wake: AppWake = { appId, activator: this.id, at: new Date().toISOString(), waiting, replicas };
        this.publish(APP_WAKE_SUBJECT, wake);
      },
    });
    this.feed = new RouteFeed(nc, routes, this.table, config.activator.routeRefreshMs, this.logger);
    this.chain = {
      admission: new Admission(this.table, dataSource, config.activator.callerSecret),
      throttler: this.throttler,
      meter: this.meter,
      table: this.table,
      forwarder: this.forwarder,
      proxy: this.proxy,
      forwarding: this.forwarding,
      logger: this.logger,
    };
    // Errors of a request are handled by its own callback (see http-handler, websocket-handler);
    // what the proxy emits besides (a WebSocket client's socket failing, say) must not reach its
    // default listener, which throws.
    // http-proxy-3 carries WebSockets only (HTTP goes through the forwarder): its target is the socket.
    this.proxy.on('error', (error, req, target) => {
      this.logger.debug(`proxying ${req?.url ?? ''} failed: ${error.message}`);
      (target as Duplex | undefined)?.destroy();
    });
    this.proxy.on('proxyRes', (proxyRes, req) => rewriteResponseHeaders(this.forwarding.get(req), proxyRes.headers));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.feed.start();
    this.timers.push(setInterval(() => this.report(), this.config.activator.reportIntervalMs));
    for (const timer of this.timers) timer.unref();
  }

  onApplicationShutdown(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.feed.stop();
    this.throttler.close(new PageError((slug) => APP_UNAVAILABLE(slug, 'the activator is restarting', 1)));
    this.proxy.close();
    this.agent.destroy();
    void this.forwarder.close();
  }

  /**
   * The HTTP server's handler for `/a/...` (see isAppTraffic): nothing parses the body, it streams
   * through. Nothing may be thrown out of it (it would end the process): what goes wrong is a page.
   */
  readonly serve = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      const target = parseTarget(req.url ?? '');
      if (!target) return answer(req, res, NO_APP(''));
      serveHttp(this.chain, target, req, res).catch((error: unknown) =>
        this.failed(error, req, () => answer(req, res, APP_UNAVAILABLE(target.slug, 'something went wrong in the activator', 1))),
      );
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
      serveUpgrade(this.chain, target, req, socket, head).catch((error: unknown) => this.failed(error, req, () => refuseUpgrade(socket, 503, 'Service Unavailable')));
    } catch (error) {
      this.failed(error, req, () => refuseUpgrade(socket, 503, 'Service Unavailable'));
    }
  };

  /** What requests for the app hold in this activator now: counted as in flight or queued, plus replica slots taken. */
  holding(appId: string): number {
    return this.meter.current(appId) + this.throttler.outstandingOn(this.table.byAppId(appId)?.endpoints ?? []);
  }

  /** Logs an unexpected error and answers with `reply`, which must not throw either. */
  private failed(error: unknown, req: IncomingMessage, reply: () => void): void {
    try {
      this.logger.error({ err: error }, `activator failed on ${req.method ?? ''} ${req.url ?? ''}: ${(error as Error)?.message}`);
    } catch {
      // a logger that throws changes nothing about the answer
    }
    reply();
  }

  /** Per app: in flight plus queued, averaged over the interval; per replica, what is in flight there: for the scaler's leader. */
  private report(): void {
    const apps = this.meter.report();
    const outstanding = this.throttler.outstanding();
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
