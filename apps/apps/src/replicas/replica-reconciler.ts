import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { APP_ROUTE_SUBJECT, appFailedV1 } from '@launchpad/contracts';
import { jsonOf, NATS_CONNECTION, OutboxWriter } from '@launchpad/messaging';
import { type AppWorkloadSpec, type AppWorkloadStatus, ReconcileController, type ReconcileResult, type Runtime, type WorkloadStatus } from '@launchpad/runtime';
import { counter, HealthRegistry, reconcileMetrics, structuredLogger } from '@launchpad/telemetry';
import { DataSource } from 'typeorm';
import { AppEntity } from '../apps/app.entity.js';
import { appBasePath } from '../apps/app-view.js';
import { APP_RUNTIME, APPS_CONFIG, type AppsConfig } from '../config.js';
import { CommandResolver } from '../procfile/command-resolver.js';
import { Routes } from '../routing/route-source.js';
import { ConcurrencyCollector } from '../scaler/concurrency-collector.js';
import { Leadership } from './leadership.js';
import { planReplicas } from './replica-plan.js';

const actions = counter('launchpad_app_replica_actions_total', 'Steps the replica reconciler took', ['action']);

/** Apps have no resource class of their own yet: what the Kubernetes driver will ask for per replica. */
const REPLICA_RESOURCES = { cpu: 1, memoryMb: 1024, gpu: 0, diskGb: 5 };
/** Apps reconciled at once; each reconcile is a few queries and one runtime call. */
const RECONCILE_CONCURRENCY = 8;

/**
 * Makes the runtime run, for every app, the replicas the scaler asks for, and tells the activators
 * which of them are ready. Level-triggered, on one ReconcileController: woken by runtime events,
 * route changes and the scaler, and over every app on a resync. It asks the runtime for the app
 * as a whole (ensureApp: template, generation, replica count, which replicas to remove first);
 * which replica is which, restarts after a crash and drains are the runtime's. Only the leader acts.
 */
@Injectable()
export class ReplicaReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReplicaReconciler.name);
  private readonly controller: ReconcileController;
  private subscription: Subscription | undefined;
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly routes: Routes,
    private readonly resolver: CommandResolver,
    private readonly leadership: Leadership,
    private readonly concurrency: ConcurrencyCollector,
    @Inject(APP_RUNTIME) private readonly runtime: Runtime,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(APPS_CONFIG) private readonly config: AppsConfig,
    health: HealthRegistry,
  ) {
    this.controller = new ReconcileController({
      name: 'app-replicas',
      reconcile: (appId) => this.reconcile(appId),
      resyncKeys: () => this.resyncKeys(),
      resyncIntervalMs: config.replicas.reconcileIntervalMs,
      concurrency: RECONCILE_CONCURRENCY,
      isLeader: () => this.leadership.isLeader,
      metrics: reconcileMetrics('app-replicas'),
      logger: structuredLogger(ReplicaReconciler.name),
    });
    leadership.onChange((isLeader) => this.controller.leadershipChanged(isLeader));
    health.register('runtime', async () => {
      await this.runtime.list();
    });
  }

  onApplicationBootstrap(): void {
    this.unwatch = this.runtime.watch((event) => {
      if (event.status.owner.service === 'apps') this.wake(event.status.owner.id);
    });
    // Activation, deactivation, deletion, failure: whoever changed an app's route, its replicas follow.
    this.subscription = this.nc.subscribe(APP_ROUTE_SUBJECT, {
      callback: (err, msg) => {
        const appId = (jsonOf(msg) as { appId?: unknown } | undefined)?.appId;
        if (!err && typeof appId === 'string') this.wake(appId);
      },
    });
    this.controller.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    this.unwatch?.();
    await this.controller.stop();
    // Replicas keep running while this service restarts; the next leader adopts them.
    await this.runtime.close();
  }

  /** Reconciles one app soon (only on the leader). */
  wake(appId: string): void {
    this.controller.enqueue(appId);
  }

  /** Runs a resync now; see ReconcileController.resync. */
  async pass(): Promise<void> {
    await this.controller.resync();
  }

  /** Every app, and every app the runtime runs replicas for (whose row may be gone). */
  private async resyncKeys(): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(`SELECT launcher_id AS id FROM apps`);
    const ids = new Set(rows.map((r) => r.id));
    for (const w of await this.runtime.list()) if (w.owner.service === 'apps') ids.add(w.owner.id);
    return [...ids];
  }

  private async reconcile(appId: string): Promise<ReconcileResult> {
    const row = await this.dataSource.getRepository(AppEntity).findOneBy({ launcherId: appId });
    if (row?.status === 'active' && !row.command) {
      await this.resolveCommand(row);
      return { requeue: true };
    }
    const planned = row && { appId, status: row.status, generation: row.generation, desiredReplicas: row.desiredReplicas, runnable: row.command !== null };
    let status = await this.runtime.appStatus(appId);
    const first = planReplicas(planned, status, this.config.replicas.crashes);
    switch (first.step.kind) {
      case 'none':
        return {};
      case 'remove':
        this.logger.log({ appId }, `removing the replicas of app ${appId}: it is ${row ? row.status : 'gone'}`);
        actions.inc({ action: 'remove' });
        await this.runtime.removeApp(appId);
        return {};
      case 'scale-to-zero':
        actions.inc({ action: 'scale-to-zero' });
        if (!(await this.runtime.scaleApp(appId, 0)) && row!.command) await this.runtime.ensureApp(this.appSpec(row!, 0));
        return {};
      case 'ensure':
        break;
    }
    status = await this.setReplicas(row!, status);
    const plan = planReplicas(planned, status, this.config.replicas.crashes);
    if (plan.failure) {
      actions.inc({ action: 'fail' });
      await this.fail(row!, plan.failure);
      return { requeue: true };
    }
    if (!sameList(row!.endpoints, plan.endpoints)) await this.setEndpoints(row!, plan.endpoints);
    return {};
  }

  /**
   * The replica count alone changed (the scaler's doing): through the scale subresource
   * (scaleApp), as an autoscaler sets a Deployment's replicas. Anything else — a first start, a new
   * generation, another template — sets the whole app (ensureApp), idempotently on every pass.
   */
  private async setReplicas(row: AppEntity, status: AppWorkloadStatus | null): Promise<AppWorkloadStatus> {
    const spec = this.appSpec(row, row.desiredReplicas, status);
    if (status && status.generation === row.generation && status.specHash === this.runtime.specHash(spec.template) && status.replicas !== spec.replicas) {
      actions.inc({ action: 'scale' });
      const scaled = await this.runtime.scaleApp(row.launcherId, spec.replicas, spec.removeFirst);
      // Null: the runtime no longer holds the app's template (a process driver that restarted).
      if (scaled) return scaled;
    }
    return this.runtime.ensureApp(spec);
  }

  /**
   * What the runtime should run for the app. Replicas with the fewest requests in flight go
   * first when it scales down (Kubernetes: their pod-deletion-cost is lowest).
   */
  private appSpec(row: AppEntity, replicas: number, status: AppWorkloadStatus | null = null): AppWorkloadSpec {
    const now = Date.now();
    const load = (w: WorkloadStatus) => (w.endpoint ? this.concurrency.outstanding(w.endpoint, now) : 0);
    // Ties go the driver's own way round (the process driver: the highest replica first).
    const removeFirst = (status?.instances ?? [])
      .filter((w) => w.phase === 'ready')
      .sort((a, b) => load(a) - load(b) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .map((w) => w.id);
    return { appId: row.launcherId, template: this.template(row), generation: row.generation, replicas, removeFirst, drainMs: this.config.replicas.drainMs };
  }

  private async resolveCommand(seen: AppEntity): Promise<void> {
    const resolution = await this.resolver.resolve(seen);
    if (resolution.kind === 'failed') return this.fail(seen, resolution.message);
    const changed = await this.outbox.transaction(async (manager) => {
      const row = await manager.findOne(AppEntity, { where: { launcherId: seen.launcherId }, lock: { mode: 'pessimistic_write' } });
      if (!row || row.status !== 'active' || row.generation !== seen.generation || row.command) return false;
      await manager.update(AppEntity, { launcherId: row.launcherId }, { command: resolution.command, routeVersion: row.routeVersion + 1, updatedAt: new Date() });
      return true;
    });
    if (!changed) return;
    const what = { procfile: `the Procfile of "${resolution.command.repository}"`, launcher: 'its launcher command', image: "its image's entrypoint" }[resolution.command.source];
    this.logger.log({ appId: seen.launcherId }, `app ${seen.slug} runs ${what}: ${resolution.command.line}`);
    await this.routes.publish(seen.launcherId);
  }

  /** The app cannot run: it is failed (its replicas stop), saying why; activating it again retries. */
  private async fail(seen: AppEntity, message: string): Promise<void> {
    const failed = await this.outbox.transaction(async (manager) => {
      const row = await manager.findOne(AppEntity, { where: { launcherId: seen.launcherId }, lock: { mode: 'pessimistic_write' } });
      if (!row || row.status !== 'active' || row.generation !== seen.generation) return false;
      Object.assign(row, { status: 'failed', message, desiredReplicas: 0, endpoints: [], routeVersion: row.routeVersion + 1, updatedAt: new Date() });
      await manager.save(row);
      await this.outbox.append(manager, appFailedV1, { launcherId: row.launcherId, projectId: row.projectId, slug: row.slug, message });
      return true;
    });
    if (!failed) return;
    this.logger.warn({ appId: seen.launcherId }, `app ${seen.slug} failed: ${message}`);
    await this.routes.publish(seen.launcherId);
  }

  private async setEndpoints(seen: AppEntity, endpoints: string[]): Promise<void> {
    const result = await this.dataSource.query(
      `UPDATE apps SET endpoints = $2, route_version = route_version + 1, updated_at = now()
        WHERE launcher_id = $1 AND generation = $3 AND status = 'active'`,
      [seen.launcherId, JSON.stringify(endpoints), seen.generation],
    );
    if ((result as [unknown, number])[1] === 0) return;
    this.logger.log({ appId: seen.launcherId, ready: endpoints.length }, `app ${seen.slug} has ${endpoints.length} ready replica(s)`);
    await this.routes.publish(seen.launcherId);
  }

  private template(row: AppEntity): AppWorkloadSpec['template'] {
    const command = row.command!;
    return {
      image: row.spec.image,
      command: command.command,
      args: command.args,
      env: row.spec.env,
      port: row.spec.port,
      baseUrl: appBasePath(row.slug),
      defaultUrl: row.spec.defaultUrl,
      workingDirectory: row.spec.workingDirectory,
      repositories: row.spec.repositories,
      resources: REPLICA_RESOURCES,
      ...(row.spec.security ? { security: row.spec.security } : {}),
    };
  }
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
