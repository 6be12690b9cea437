import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { APP_WAKE_SUBJECT, appScaledV1, appWakeSchema } from '@launchpad/contracts';
import { jsonOf, NATS_CONNECTION, OutboxWriter } from '@launchpad/messaging';
import { counter, gauge } from '@launchpad/telemetry';
import { DataSource } from 'typeorm';
import { AppEntity } from '../apps/app.entity.js';
import { APPS_CONFIG, type AppsConfig } from '../config.js';
import { Leadership } from '../replicas/leadership.js';
import { ReplicaReconciler } from '../replicas/replica-reconciler.js';
import { ConcurrencyCollector } from './concurrency-collector.js';
import { decideScale, type Sample } from './kpa.js';

const decisions = counter('launchpad_app_scaler_decisions_total', 'Replica counts the scaler changed', ['direction']);
const desiredGauge = gauge('launchpad_app_desired_replicas', 'Replicas the scaler asks for, per app', ['app']);
const observedGauge = gauge('launchpad_app_observed_concurrency', 'Concurrency the scaler saw at its last tick, per app', ['app']);

interface ActiveApp {
  id: string;
  slug: string;
  min: number;
  max: number;
  target: number;
  desired: number;
  ready: number;
  lastRequestAt: Date | null;
}

interface AppState {
  samples: Sample[];
  panicUntil: number | null;
  observingSince: number;
}

/**
 * Sets each active app's replica count from the concurrency the activators report, once a tick,
 * on the leader only (decideScale holds the arithmetic); wakes an app at zero at once when an
 * activator asks. Each change is recorded with its reason and announced (apps.app.scaled); the
 * replica reconciler carries it out.
 */
@Injectable()
export class AppScaler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AppScaler.name);
  private readonly state = new Map<string, AppState>();
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly leadership: Leadership,
    private readonly collector: ConcurrencyCollector,
    private readonly reconciler: ReplicaReconciler,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(APPS_CONFIG) private readonly config: AppsConfig,
  ) {
    // A new leader starts its windows afresh (and does not scale down before it has filled one).
    leadership.onChange(() => this.state.clear());
  }

  onApplicationBootstrap(): void {
    this.subscription = this.nc.subscribe(APP_WAKE_SUBJECT, {
      callback: (err, msg) => {
        if (err) return;
        const wake = appWakeSchema.safeParse(jsonOf(msg));
        if (!wake.success) return;
        this.collector.woken(wake.data.appId, Date.now());
        if (this.leadership.isLeader) {
          void this.wake(wake.data.appId, wake.data.replicas, wake.data.waiting).catch((error: unknown) => this.logger.warn(`could not wake app ${wake.data.appId}: ${(error as Error).message}`));
        }
      },
    });
    this.timer = setInterval(() => void this.tick(), this.config.scaler.tickMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.subscription?.unsubscribe();
  }

  /**
   * Requests wait for an app at zero: `replicas` now (what they need at the app's capacity per
   * replica, within its bounds), without waiting for the next tick. Wakes for one app arrive one
   * after the other as a burst grows; each only ever raises the count.
   */
  private async wake(appId: string, replicas: number, waiting: number): Promise<void> {
    await this.dataSource.query(`UPDATE apps SET last_request_at = greatest(coalesce(last_request_at, now()), now()) WHERE launcher_id = $1 AND status = 'active'`, [appId]);
    const changed = await this.outbox.transaction(async (manager) => {
      const row = await manager.findOne(AppEntity, { where: { launcherId: appId }, lock: { mode: 'pessimistic_write' } });
      if (!row || row.status !== 'active') return null;
      const to = Math.min(row.maxReplicas, Math.max(replicas, row.minReplicas, 1));
      if (row.desiredReplicas >= to) return null;
      const reason =
        row.desiredReplicas === 0
          ? `${waiting} request(s) arrived while it had no replica: waking ${to}`
          : `${waiting} request(s) wait for it to start: ${to} replica(s) for them`;
      await manager.update(AppEntity, { launcherId: appId }, { desiredReplicas: to, updatedAt: new Date() });
      await this.outbox.append(manager, appScaledV1, { launcherId: appId, projectId: row.projectId, slug: row.slug, from: row.desiredReplicas, to, observedConcurrency: waiting, reason });
      return { slug: row.slug, from: row.desiredReplicas, to, reason };
    });
    if (!changed) return;
    decisions.inc({ direction: 'up' });
    this.logger.log({ appId, from: changed.from, to: changed.to }, `app ${changed.slug}: ${changed.from} → ${changed.to} replica(s): ${changed.reason}`);
    this.reconciler.wake(appId);
  }

  async tick(): Promise<void> {
    if (this.ticking || !this.leadership.isLeader) return;
    this.ticking = true;
    try {
      const apps: ActiveApp[] = await this.dataSource.query(
        `SELECT launcher_id AS id, slug, min_replicas AS min, max_replicas AS max, target_concurrency AS target,
                desired_replicas AS desired, jsonb_array_length(endpoints) AS ready, last_request_at AS "lastRequestAt"
           FROM apps WHERE status = 'active'`,
      );
      const now = Date.now();
      const active = new Set(apps.map((a) => a.id));
      for (const id of this.state.keys()) {
        if (!active.has(id)) {
          this.state.delete(id);
          desiredGauge.remove({ app: id });
          observedGauge.remove({ app: id });
        }
      }
      for (const app of apps) await this.decide(app, now);
    } catch (error) {
      this.logger.warn(`scaler tick failed: ${(error as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  private async decide(app: ActiveApp, now: number): Promise<void> {
    const observed = this.collector.observe(app.id, now);
    let state = this.state.get(app.id);
    if (!state) {
      state = { samples: [], panicUntil: null, observingSince: now };
      this.state.set(app.id, state);
    }
    state.samples.push({ at: now, concurrency: observed.average });
    while (state.samples.length > 0 && state.samples[0]!.at <= now - this.config.scaler.stableWindowMs) state.samples.shift();
    const persisted = app.lastRequestAt?.getTime() ?? null;
    const lastRequestAt = Math.max(persisted ?? 0, observed.lastRequestAt ?? 0) || null;
    const decision = decideScale(
      {
        now,
        samples: state.samples,
        current: app.desired,
        ready: app.ready,
        concurrencyNow: observed.current,
        lastRequestAt,
        panicUntil: state.panicUntil,
        observingSince: state.observingSince,
      },
      { ...this.config.scaler, targetConcurrency: app.target, minReplicas: app.min, maxReplicas: app.max },
    );
    state.panicUntil = decision.panicUntil;
    this.logger.debug({ appId: app.id, ready: app.ready, desired: app.desired, decision }, `scaler: app ${app.slug}`);
    desiredGauge.set({ app: app.id }, decision.desired);
    observedGauge.set({ app: app.id }, observed.average);
    if (decision.desired !== app.desired) {
      await this.scale(app.id, app.desired, decision.desired, Math.max(decision.stableConcurrency, decision.panicConcurrency), decision.reason);
    }
    if (lastRequestAt !== null && (persisted === null || lastRequestAt - persisted >= 1000)) {
      await this.dataSource.query(`UPDATE apps SET last_request_at = greatest(coalesce(last_request_at, $2), $2) WHERE launcher_id = $1`, [app.id, new Date(lastRequestAt)]);
    }
  }

  /** Records the new count (if nobody changed it meanwhile) with its reason, and has it carried out. */
  private async scale(appId: string, from: number, to: number, observed: number, reason: string): Promise<void> {
    const changed = await this.outbox.transaction(async (manager) => {
      const row = await manager.findOne(AppEntity, { where: { launcherId: appId }, lock: { mode: 'pessimistic_write' } });
      if (!row || row.status !== 'active' || row.desiredReplicas !== from) return null;
      await manager.update(AppEntity, { launcherId: appId }, { desiredReplicas: to, updatedAt: new Date() });
      await this.outbox.append(manager, appScaledV1, { launcherId: appId, projectId: row.projectId, slug: row.slug, from, to, observedConcurrency: Math.round(observed * 100) / 100, reason });
      return row;
    });
    if (!changed) return;
    decisions.inc({ direction: to > from ? 'up' : 'down' });
    this.logger.log({ appId, from, to }, `app ${changed.slug}: ${from} → ${to} replica(s): ${reason}`);
    this.reconciler.wake(appId);
  }
}
