import { Inject, Injectable, Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { APP_ROUTE_SUBJECT, type AppRoute, appRouteSchema } from '@launchpad/contracts';
import { NATS_CONNECTION } from '@launchpad/messaging';
import { DataSource } from 'typeorm';

const SELECT_ROUTES = `
  SELECT a.launcher_id AS "appId", a.route_version AS version, a.slug, a.project_id AS "projectId",
         coalesce(p.visibility, 'private') AS visibility, a.status, a.access, a.endpoints,
         coalesce((a.command->>'stripPrefix')::boolean, false) AS "stripPrefix",
         a.target_concurrency AS capacity
    FROM apps a LEFT JOIN catalogue_projects p ON p.id = a.project_id`;

/**
 * How each app's traffic is routed, as the database has it, and the broadcast that tells every
 * activator at once when it changes. Any replica may publish after its own commit: `version`
 * grows with every change, so copies arriving out of order settle on the newest.
 */
@Injectable()
export class Routes {
  private readonly logger = new Logger(Routes.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  async all(): Promise<AppRoute[]> {
    const rows: unknown[] = await this.dataSource.query(SELECT_ROUTES);
    return rows.map((row) => appRouteSchema.parse(row));
  }

  async one(appId: string): Promise<AppRoute | null> {
    const [row] = (await this.dataSource.query(`${SELECT_ROUTES} WHERE a.launcher_id = $1`, [appId])) as unknown[];
    return row ? appRouteSchema.parse(row) : null;
  }

  /** Tells every activator (and the scaler's leader) how to route the app now. */
  async publish(appId: string): Promise<void> {
    try {
      const route = await this.one(appId);
      this.send(route ?? { appId, version: Number.MAX_SAFE_INTEGER, slug: '', projectId: '', visibility: 'private', status: 'inactive', access: 'members', endpoints: [], stripPrefix: false, capacity: null, deleted: true });
    } catch (error) {
      // The activators read every route again on a timer: a lost broadcast costs a delay.
      this.logger.warn(`could not broadcast the route of app ${appId}: ${(error as Error).message}`);
    }
  }

  private send(route: AppRoute): void {
    this.nc.publish(APP_ROUTE_SUBJECT, JSON.stringify(route));
  }
}
