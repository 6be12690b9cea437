import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { APP_CONCURRENCY_SUBJECT, type AppConcurrencyReport, appConcurrencyReportSchema } from '@launchpad/contracts';
import { jsonOf, NATS_CONNECTION } from '@launchpad/messaging';
import { APPS_CONFIG, type AppsConfig } from '../config.js';

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
}

/** What every activator says about every app, kept as the last report of each; old reports (a dead activator) count for nothing. */
@Injectable()
export class ConcurrencyCollector implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ConcurrencyCollector.name);
  private readonly reports = new Map<string, Received>();
  private readonly wakes = new Map<string, number>();
  private subscription: Subscription | undefined;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(APPS_CONFIG) private readonly config: AppsConfig,
  ) {}

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

  record(report: AppConcurrencyReport, receivedAt: number): void {
    this.reports.set(report.activator, { at: receivedAt, apps: new Map(report.apps.map((a) => [a.appId, a])) });
  }

  /** An activator asked for the app: a request is waiting, whatever the next report says about it. */
  woken(appId: string, at: number): void {
    this.wakes.set(appId, at);
  }

  observe(appId: string, now: number): Observed {
    const fresh = now - 3 * this.config.activator.reportIntervalMs;
    let average = 0;
    let current = 0;
    let lastRequestAt: number | null = null;
    let reportedSince = 0;
    for (const [activator, received] of this.reports) {
      if (received.at < fresh) {
        this.reports.delete(activator);
        continue;
      }
      reportedSince = Math.max(reportedSince, received.at);
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
      if (wake >= reportedSince - this.config.activator.reportIntervalMs) current = Math.max(current, 1);
      else this.wakes.delete(appId);
    }
    return { average, current, lastRequestAt };
  }
}
