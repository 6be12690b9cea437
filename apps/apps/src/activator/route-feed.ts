import type { Logger } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { APP_ROUTE_SUBJECT, appRouteSchema } from '@launchpad/contracts';
import { jsonOf } from '@launchpad/messaging';
import type { Routes } from '../routing/route-source.js';
import type { RouteTable } from './route-table.js';

/**
 * Keeps the activator's route table current: every broadcast as it comes, and the whole table
 * read again from the database on a timer (a lost broadcast costs a delay, nothing more).
 */
export class RouteFeed {
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loaded = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly routes: Routes,
    private readonly table: RouteTable,
    private readonly refreshMs: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscription = this.nc.subscribe(APP_ROUTE_SUBJECT, {
      callback: (err, msg) => {
        if (err) return;
        const route = appRouteSchema.safeParse(jsonOf(msg));
        if (route.success) this.table.apply(route.data);
      },
    });
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.subscription?.unsubscribe();
  }

  private async refresh(): Promise<void> {
    try {
      this.table.replaceAll(await this.routes.all());
      this.loaded = true;
    } catch (error) {
      this.logger.warn(`could not read the app routes${this.loaded ? '' : ' yet'}: ${(error as Error).message}`);
    }
  }
}
