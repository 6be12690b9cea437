import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { APP_ROUTE_SUBJECT, appFailedV1 } from '@launchpad/contracts';
import { jsonOf, NATS_CONNECTION, OutboxWriter } from '@launchpad/messaging';
import { ReconcileQueue, type Runtime, type WorkloadSpec, type WorkloadStatus } from '@launchpad/runtime';
import { counter, HealthRegistry } from '@launchpad/telemetry';
import { DataSource } from 'typeorm';
import { AppEntity } from '../apps/app.entity.js';
import { appBasePath, workloadsOf } from '../apps/app-view.js';
import { APP_RUNTIME, APPS_CONFIG, type AppsConfig } from '../config.js';
import { CommandResolver } from '../procfile/command-resolver.js';
import { Routes } from '../routing/route-source.js';
import { ConcurrencyCollector } from '../scaler/concurrency-collector.js';
import { afterCrash, type CrashPolicy } from './crash-loop.js';
import { Leadership } from './leadership.js';
import { parseReplicaId, planReplicas, type ReplicaAction, replicaLabel } from './replica-plan.js';

const actions = counter('launchpad_app_replica_actions_total', 'Steps the replica reconciler took', ['action']);

/** Apps have no resource class of their own yet: what the Kubernetes driver will ask for per replica. */
const REPLICA_RESOURCES = { cpu: 1, memoryMb: 1024, gpu: 0, diskGb: 5 };
/** Enough steps for any path (resolve → start → stop the extra ones); more means a loop. */
const MAX_STEPS_PER_WAKE = 10;
/** The longest pause before a crashed replica is started again. */
const MAX_RESTART_BACKOFF_MS = 5 * 60_000;

/**
 * Makes the runtime run, for every app, the replicas the scaler asks for, and tells the activators
 * which of them are ready. Level-triggered like the sessions reconciler: woken by runtime events,
 * route changes and the scaler, and over every app on a timer. Only the leader acts.
 */
@Injectable()
export class ReplicaReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReplicaReconciler.name);
  private readonly queue = new ReconcileQueue(
    (appId) => this.reconcile(appId),
    (appId, error) => this.logger.error({ err: error, appId }, `reconciling app ${appId} failed: ${(error as Error).message}`),
  );
  /** Replicas this replica's runtime was handed since it became leader, so that it watches them. */
  private readonly handedOver = new Set<string>();
  /** Replicas out of rotation, and since when: stopped once the drain time is over. */
  private readonly draining = new Map<string, number>();
  /** Replicas that stopped on their own: quick crashes in a row, and when the last one may be started again. */
  private readonly crashes = new Map<string, { crashes: number; notBefore: number; run: string }>();
  private readonly crashPolicy: CrashPolicy;
  private subscription: Subscription | undefined;
  private unwatch: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private passing = false;
  private closed = false;

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
    this.crashPolicy = { ...config.replicas.crashes, maxBackoffMs: MAX_RESTART_BACKOFF_MS };
    leadership.onChange((isLeader) => {
      this.handedOver.clear();
      this.draining.clear();
      this.crashes.clear();
      if (isLeader) void this.pass();
    });
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
    this.timer = setInterval(() => void this.pass(), this.config.replicas.reconcileIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.subscription?.unsubscribe();
    this.unwatch?.();
    await this.queue.settle();
    // Replicas keep running while this service restarts; the next leader adopts them.
    await this.runtime.close();
  }

  /** Reconciles one app soon (only on the leader); see ReconcileQueue. */
  wake(appId: string): void {
    if (this.closed || !this.leadership.isLeader) return;
    this.queue.wake(appId);
  }

  /** Every app, and every app's workload whose app is gone. */
  async pass(): Promise<void> {
    if (this.passing || this.closed || !this.leadership.isLeader) return;
    this.passing = true;
    try {
      const rows: { id: string }[] = await this.dataSource.query(`SELECT launcher_id AS id FROM apps`);
      const ids = new Set(rows.map((r) => r.id));
      for (const w of await this.runtime.list()) if (w.owner.service === 'apps') ids.add(w.owner.id);
      for (const id of ids) this.wake(id);
    } catch (error) {
      this.logger.warn(`replica pass failed: ${(error as Error).message}; the next pass retries`);
    } finally {
      this.passing = false;
    }
  }

  private async reconcile(appId: string): Promise<void> {
    for (let step = 0; step < MAX_STEPS_PER_WAKE; step++) {
      if (!this.leadership.isLeader || this.closed) return;
      const row = await this.dataSource.getRepository(AppEntity).findOneBy({ launcherId: appId });
      if (row?.status === 'active' && !row.command) {
        await this.resolveCommand(row);
        continue;
      }
      const workloads = workloadsOf(appId, await this.runtime.list());
      const plan = planReplicas(
        row && { appId, status: row.status, generation: row.generation, desiredReplicas: row.desiredReplicas, runnable: row.command !== null },
        workloads,
        Date.now(),
        this.draining,
        this.config.replicas.drainMs,
        {
          // Requests still in flight on a draining replica are let finish, up to APP_DRAIN_MAX_MS.
          busy: (w) => w.endpoint !== null && this.concurrency.outstanding(w.endpoint, Date.now()) > 0,
          maxMs: this.config.replicas.drainMaxMs,
        },
      );
      // After a change of leader, the replicas already under way are ours to watch.
      for (const id of plan.running) {
        if (row && !this.handedOver.has(id)) {
          this.handedOver.add(id);
          await this.runtime.ensureRunning(this.workloadSpec(row, id));
        }
      }
      if (row && row.status === 'active' && !sameList(row.endpoints, plan.endpoints)) await this.setEndpoints(row, plan.endpoints);
      // A replica wanted again is no longer draining; one that stopped is done draining.
      for (const id of plan.running) this.draining.delete(id);
      for (const id of this.draining.keys()) {
        if (parseReplicaId(id)?.appId === appId && !workloads.some((w) => w.id === id && w.phase !== 'stopped')) this.draining.delete(id);
      }
      if (plan.actions.length === 0) return;
      let acted = false;
      for (const action of plan.actions) {
        if (await this.execute(row, action, workloads)) {
          actions.inc({ action: action.kind });
          acted = true;
        }
      }
      // Only restarts that must wait (see mayRestart): a timer looks again.
      if (!acted) return;
    }
    this.logger.warn({ appId }, `app ${appId} did not settle after ${MAX_STEPS_PER_WAKE} steps; the next pass continues`);
  }

  /** Carries the action out; false when it must wait (a crashed replica's restart pause). */
  private async execute(row: AppEntity | null, action: ReplicaAction, workloads: readonly WorkloadStatus[]): Promise<boolean> {
    switch (action.kind) {
      case 'start':
        if (!row) return true;
        if (action.replacing) {
          if (!(await this.mayRestart(row, action.id, workloads.find((w) => w.id === action.id)))) return false;
          this.logger.warn({ appId: row.launcherId, replica: action.id }, `replacing replica ${action.id} of app ${row.slug}: it stopped`);
        } else {
          this.logger.log({ appId: row.launcherId, replica: action.id }, `starting replica ${action.id} of app ${row.slug}`);
        }
        await this.runtime.ensureRunning(this.workloadSpec(row, action.id));
        this.handedOver.add(action.id);
        return true;
      case 'drain':
        this.draining.set(action.id, Date.now());
        // Look again once it has had its drain time.
        setTimeout(() => row && this.wake(row.launcherId), this.config.replicas.drainMs + 50).unref();
        return true;
      case 'stop':
        this.logger.log({ replica: action.id }, `stopping replica ${action.id}, keeping its files for the next scale-up`);
        this.draining.delete(action.id);
        this.handedOver.delete(action.id);
        this.crashes.delete(action.id);
        await this.runtime.stop(action.id);
        return true;
      case 'remove':
        this.logger.log({ replica: action.id }, `removing replica ${action.id}`);
        this.draining.delete(action.id);
        this.handedOver.delete(action.id);
        this.crashes.delete(action.id);
        await this.runtime.remove(action.id);
        return true;
      case 'fail':
        if (row) await this.fail(row, `replica ${replicaLabel(action.id)} did not become ready: ${action.message}`);
        return true;
    }
  }

  /**
   * A wanted replica stopped on its own: whether to start it now. Each crash is judged once
   * (afterCrash): started again after a pause that grows with each quick crash in a row, and
   * after APP_CRASH_LIMIT of them the app has failed, with the replica's last output.
   */
  private async mayRestart(row: AppEntity, id: string, crashed: WorkloadStatus | undefined): Promise<boolean> {
    const now = Date.now();
    const run = crashed?.startedAt ?? '';
    let known = this.crashes.get(id);
    if (!known || known.run !== run) {
      const ranMs = crashed?.startedAt ? now - Date.parse(crashed.startedAt) : 0;
      const verdict = afterCrash(known?.crashes ?? 0, ranMs, now, this.crashPolicy);
      if (verdict.kind === 'fail') {
        this.crashes.delete(id);
        const within = Math.round(this.crashPolicy.windowMs / 100) / 10;
        await this.fail(row, `replica ${replicaLabel(id)} keeps crashing: it stopped ${verdict.crashes} times in a row, each within ${within} s of starting; the last time it ${crashed?.message ?? 'stopped'}`);
        return false;
      }
      known = { crashes: verdict.crashes, notBefore: verdict.notBefore, run };
      this.crashes.set(id, known);
      const waitMs = verdict.notBefore - now;
      this.logger.warn({ appId: row.launcherId, replica: id }, `replica ${id} of app ${row.slug} stopped (crash ${verdict.crashes} in a row): starting it again in ${waitMs} ms`);
      setTimeout(() => this.wake(row.launcherId), waitMs + 10).unref();
    }
    return now >= known.notBefore;
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
    this.logger.log({ appId: seen.launcherId }, `app ${seen.slug} runs ${resolution.command.source === 'procfile' ? `the Procfile of "${resolution.command.repository}"` : 'its launcher command'}: ${resolution.command.line}`);
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

  private workloadSpec(row: AppEntity, id: string): WorkloadSpec {
    const command = row.command!;
    return {
      id,
      kind: 'app',
      owner: { service: 'apps', id: row.launcherId },
      image: row.spec.image,
      command: command.command,
      args: command.args,
      env: row.spec.env,
      port: row.spec.port,
      baseUrl: command.stripPrefix ? '/' : appBasePath(row.slug),
      defaultUrl: row.spec.defaultUrl,
      workingDirectory: row.spec.workingDirectory,
      repositories: row.spec.repositories,
      resources: REPLICA_RESOURCES,
    };
  }
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
