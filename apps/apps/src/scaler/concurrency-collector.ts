import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { APP_CONCURRENCY_SUBJECT, type AppConcurrencyReport, appConcurrencyReportSchema } from '@launchpad/contracts';
import { jsonOf, NATS_CONNECTION } from '@launchpad/messaging';
import { APPS_CONFIG, type AppsConfig } from '../config.js';
import { Leadership } from '../replicas/leadership.js';

export interface Observed {
  /** Sum over the activators of their average concurrency in their last interval. */
  average: number;
  /** Sum of what they had in flight and queued when they reported (at least 1 after a wake not yet reported on). */
  current: number;
  lastRequestAt: number | null;
}

interface Received {
  at: number;
  apps: Map<string, AppConcurrencyReport['apps'][number]>;
  outstanding: Record<string, number>;
}

/**
 * What every activator says about every app, kept as the last report of each; old reports (a dead
 * activator) count for nothing and are forgotten. A wake counts as a request waiting until the
 * activators have had time to report it (a few intervals), never longer: an app woken and then
 * left alone still goes idle. Every replica of the service collects, so that a new leader starts
 * with recent reports; what it heard before it became leader (or stopped being it) is dropped.
 */
@Injectable()
export class ConcurrencyCollector implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ConcurrencyCollector.name);
  private readonly reports = new Map<string, Received>();
  private readonly wakes = new Map<string, number>();
  private subscription: Subscription | undefined;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(APPS_CONFIG) private readonly config: AppsConfig,
    leadership: Leadership,
  ) {
    leadership.onChange(() => {
      this.reports.clear();
      this.wakes.clear();
    });
  }

  onApplicationBootstrap(): void {
    this.subscription = this.nc.subscribe(APP_CONCURRENCY_SUBJECT, {
      callback: (err, msg) => {
        if (err) return;
        const parsed = appConcurrencyReportSchema.safeParse(jsonOf(msg));
        if (!parsed.success) {
          this.logger.warn(`ignoring a malformed concurrency report: ${parsed.error.message}`);
          return;
        }
        this.record(parsed.data, Date.now());
      },
    });
  }

  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }

  /** How long a report (an activator's word) or a wake (a request waiting) counts. */
  private get freshForMs(): number {
    return 3 * this.config.activator.reportIntervalMs;
  }

  record(report: AppConcurrencyReport, receivedAt: number): void {
    this.reports.set(report.activator, { at: receivedAt, apps: new Map(report.apps.map((a) => [a.appId, a])), outstanding: report.outstanding ?? {} });
    this.prune(receivedAt);
  }

  /** An activator asked for the app: a request is waiting, whatever the next report says about it. */
  woken(appId: string, at: number): void {
    this.wakes.set(appId, at);
    this.prune(at);
  }

  observe(appId: string, now: number): Observed {
    this.prune(now);
    let average = 0;
    let current = 0;
    let lastRequestAt: number | null = null;
    for (const received of this.reports.values()) {
      const app = received.apps.get(appId);
      if (!app) continue;
      average += app.average;
      current += app.current;
      const last = app.lastRequestAt ? Date.parse(app.lastRequestAt) : null;
      if (last !== null && (lastRequestAt === null || last > lastRequestAt)) lastRequestAt = last;
    }
    const wake = this.wakes.get(appId);
    if (wake !== undefined) {
      if (lastRequestAt === null || wake > lastRequestAt) lastRequestAt = wake;
      current = Math.max(current, 1);
    }
    return { average, current, lastRequestAt };
  }

  /** Requests in flight on a replica's endpoint, over every activator that reported lately. */
  outstanding(endpoint: string, now: number): number {
    this.prune(now);
    let sum = 0;
    for (const received of this.reports.values()) sum += received.outstanding[endpoint] ?? 0;
    return sum;
  }

  /** Reports and wakes older than freshForMs: dead activators, requests long since reported on. */
  private prune(now: number): void {
    const oldest = now - this.freshForMs;
    for (const [activator, received] of this.reports) if (received.at < oldest) this.reports.delete(activator);
    for (const [appId, at] of this.wakes) if (at < oldest) this.wakes.delete(appId);
  }

  /** How many activators and wakes it holds (for tests and debugging). */
  get size(): { reports: number; wakes: number } {
    return { reports: this.reports.size, wakes: this.wakes.size };
  }
}
