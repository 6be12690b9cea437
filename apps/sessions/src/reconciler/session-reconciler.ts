import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { sessionStartingV1, sessionStoppingV1 } from '@launchpad/contracts';
import { eventDataId, NATS_CONNECTION, OutboxWriter } from '@launchpad/messaging';
import { LeaderElection } from '@launchpad/persistence';
import { ReconcileQueue, type Runtime, type WorkloadSpec, type WorkloadStatus } from '@launchpad/runtime';
import { counter, gauge, HealthRegistry } from '@launchpad/telemetry';
import { DataSource } from 'typeorm';
import type { SessionsConfig } from '../config.js';
import { SessionEntity } from '../sessions/session.entity.js';
import { SessionTransitions } from '../sessions/session-transitions.js';
import { type CullingPolicy, sessionBasePath } from '../sessions/session-view.js';
import { SESSION_RUNTIME, SESSIONS_CULLING } from '../sessions/tokens.js';
import { ImageBuildGate } from './image-build-gate.js';
import { planSession, PREPARING, type ReconcileAction } from './session-plan.js';

export const SESSIONS_CONFIG = Symbol('SESSIONS_CONFIG');

const actions = counter('launchpad_session_reconcile_actions_total', 'Steps the session reconciler took', ['action']);
const leading = gauge('launchpad_session_reconciler_leader', '1 on the replica whose reconciler acts, 0 elsewhere');

/** Enough steps for any path (queued → start → preparing → starting → ready); more means a loop. */
const MAX_STEPS_PER_WAKE = 8;

/**
 * Makes the runtime match the sessions table, and the table reflect what the runtime reports.
 * Level-triggered: it is woken by session events and runtime changes, and also runs over every
 * session on a timer, so a missed wake costs a delay, never a wrong state. Only the replica
 * holding the leader lock acts.
 */
@Injectable()
export class SessionReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionReconciler.name);
  private readonly leader: LeaderElection;
  private readonly queue = new ReconcileQueue(
    (id) => this.reconcile(id),
    (id, error) => this.logger.error({ err: error, sessionId: id }, `reconciling session ${id} failed: ${(error as Error).message}`),
  );
  /** Workloads this replica has handed to its runtime since it became leader, so that its runtime watches them. */
  private readonly handedOver = new Set<string>();
  private subscriptions: Subscription[] = [];
  private unwatch: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private passing = false;
  private closed = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly transitions: SessionTransitions,
    private readonly outbox: OutboxWriter,
    @Inject(SESSION_RUNTIME) private readonly runtime: Runtime,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SESSIONS_CULLING) private readonly culling: CullingPolicy,
    @Inject(SESSIONS_CONFIG) private readonly config: SessionsConfig,
    private readonly imageGate: ImageBuildGate,
    health: HealthRegistry,
  ) {
    this.leader = new LeaderElection({
      url: config.database.url,
      lockName: 'sessions-reconciler',
      intervalMs: config.reconciler.leaderElectionIntervalMs,
      applicationName: 'launchpad-sessions',
      onChange: (isLeader) => {
        leading.set(isLeader ? 1 : 0);
        this.handedOver.clear();
        if (isLeader) void this.pass();
      },
    });
    health.register('runtime', async () => {
      await this.runtime.list();
    });
  }

  onApplicationBootstrap(): void {
    this.leader.start();
    this.unwatch = this.runtime.watch((event) => this.wake(event.id));
    for (const contract of [sessionStartingV1, sessionStoppingV1]) {
      this.subscriptions.push(
        this.nc.subscribe(contract.type, {
          callback: (err, msg) => {
            if (err) return;
            const id = eventDataId(msg);
            if (id) this.wake(id);
          },
        }),
      );
    }
    // A build that finishes releases the sessions waiting for its image.
    this.subscriptions.push(
      this.nc.subscribe('builds.build.>', {
        callback: (err) => {
          if (!err) void this.wakeWaitingForImages();
        },
      }),
    );
    this.timer = setInterval(() => void this.pass(), this.config.reconciler.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const sub of this.subscriptions) sub.unsubscribe();
    this.unwatch?.();
    await this.queue.settle();
    await this.leader.stop();
    // Sessions keep running while this replica restarts; the next leader adopts them.
    await this.runtime.close();
  }

  /** Reconciles one session soon (only on the leader); see ReconcileQueue. */
  wake(id: string): void {
    if (this.closed || !this.leader.isLeader) return;
    this.queue.wake(id);
  }

  private async wakeWaitingForImages(): Promise<void> {
    if (!this.leader.isLeader) return;
    const rows: { id: string }[] = await this.dataSource.query(`SELECT id FROM sessions WHERE phase = 'waiting-for-image'`).catch(() => []);
    for (const { id } of rows) this.wake(id);
  }

  /** Every session, and every workload nobody owns any more. */
  async pass(): Promise<void> {
    if (this.passing || this.closed || !this.leader.isLeader) return;
    this.passing = true;
    try {
      const rows: { id: string }[] = await this.dataSource.query(`SELECT id FROM sessions`);
      const known = new Set(rows.map((r) => r.id));
      for (const id of known) this.wake(id);
      for (const workload of await this.runtime.list()) {
        if (workload.owner.service !== 'sessions' || known.has(workload.id)) continue;
        // The id may belong to a session created since we read the table; look again before deleting.
        if (await this.dataSource.getRepository(SessionEntity).existsBy({ id: workload.id })) continue;
        this.logger.warn({ sessionId: workload.id }, `removing workload ${workload.id}: no session owns it`);
        actions.inc({ action: 'remove-orphan' });
        await this.runtime.remove(workload.id);
      }
    } catch (error) {
      this.logger.warn(`reconciler pass failed: ${(error as Error).message}; the next pass retries`);
    } finally {
      this.passing = false;
    }
  }

  private async reconcile(id: string): Promise<void> {
    for (let step = 0; step < MAX_STEPS_PER_WAKE; step++) {
      if (!this.leader.isLeader) return;
      const row = await this.dataSource.getRepository(SessionEntity).findOneBy({ id });
      if (!row) {
        this.handedOver.delete(id);
        return;
      }
      const workload = await this.runtime.status(id);
      const action = planSession(row, workload, new Date(), this.culling);
      if (action.kind === 'none') {
        await this.takeOver(row, workload);
        return;
      }
      actions.inc({ action: action.kind });
      if (!(await this.execute(row, workload, action))) return;
    }
    this.logger.warn({ sessionId: id }, `session ${id} did not settle after ${MAX_STEPS_PER_WAKE} steps; the next pass continues`);
  }

  /**
   * A launch another replica began (before it died or lost the lead) is still this replica's to
   * watch: ensureRunning starts nothing for a workload under way, but makes our runtime follow it
   * to ready or failed.
   */
  private async takeOver(row: SessionEntity, workload: WorkloadStatus | null): Promise<void> {
    if (row.desiredState !== 'running' || !workload || this.handedOver.has(row.id)) return;
    if (workload.phase !== 'preparing' && workload.phase !== 'starting' && workload.phase !== 'ready') return;
    const status = await this.runtime.ensureRunning(this.workloadSpec(row));
    // A preparation another live replica still runs is not ours to watch yet: ask again next time.
    if (status.phase === 'starting' || status.phase === 'ready') this.handedOver.add(row.id);
  }

  /** Takes one step; false when the session must wait for something outside (an image build). */
  private async execute(row: SessionEntity, workload: WorkloadStatus | null, action: ReconcileAction): Promise<boolean> {
    switch (action.kind) {
      case 'start': {
        const decision = await this.imageGate.decide(row.image, row.spec);
        if (decision.kind === 'wait') {
          if (row.phase !== 'waiting-for-image' || row.message !== decision.message) {
            await this.recordIfStill(row, action, { phase: 'waiting-for-image', message: decision.message });
          }
          return false;
        }
        if (decision.image !== row.image) {
          row.image = decision.image;
          await this.dataSource.getRepository(SessionEntity).update({ id: row.id }, { image: decision.image });
        }
        this.logger.log({ sessionId: row.id, userId: row.userId }, `starting session ${row.id} (${row.name}) for ${row.userId}`);
        await this.runtime.ensureRunning(this.workloadSpec(row));
        this.handedOver.add(row.id);
        // Handed over: from now on a failure the runtime reports is this launch's failure.
        await this.recordIfStill(row, action, { phase: 'preparing', message: decision.note ? `${PREPARING}; ${decision.note}` : PREPARING });
        return true;
      }
      case 'stop':
        this.logger.log({ sessionId: row.id }, `stopping session ${row.id}, keeping its files`);
        await this.runtime.stop(row.id);
        return true;
      case 'remove':
        this.logger.log({ sessionId: row.id }, `removing session ${row.id} and its files`);
        await this.runtime.remove(row.id);
        return true;
      case 'forget':
        await this.outbox.transaction(async (manager) => {
          const locked = await manager.findOne(SessionEntity, { where: { id: row.id }, lock: { mode: 'pessimistic_write' } });
          if (locked?.desiredState === 'deleted') await this.transitions.forget(manager, locked);
        });
        return true;
      case 'record':
        await this.recordIfStill(row, action, action.change, workload);
        return true;
      case 'none':
        return false;
    }
  }

  /**
   * Applies a change only if, with the row locked, the plan still says the same thing: the owner
   * may have hibernated or deleted the session since it was read.
   */
  private async recordIfStill(
    seen: SessionEntity,
    planned: ReconcileAction,
    change: Extract<ReconcileAction, { kind: 'record' }>['change'],
    workload: WorkloadStatus | null = null,
  ): Promise<void> {
    await this.outbox.transaction(async (manager) => {
      const row = await manager.findOne(SessionEntity, { where: { id: seen.id }, lock: { mode: 'pessimistic_write' } });
      if (!row || row.desiredState !== seen.desiredState || row.progressSeq !== seen.progressSeq) return;
      if (planned.kind === 'record' && planSession(row, workload, new Date(), this.culling).kind !== 'record') return;
      await this.transitions.record(manager, row, change);
    });
  }

  private workloadSpec(row: SessionEntity): WorkloadSpec {
    return {
      id: row.id,
      kind: 'session',
      owner: { service: 'sessions', id: row.id },
      image: row.image,
      command: row.spec.command,
      args: row.spec.args,
      env: row.spec.env,
      port: row.spec.port,
      baseUrl: sessionBasePath(row.id),
      defaultUrl: row.spec.defaultUrl,
      workingDirectory: row.spec.workingDirectory,
      repositories: row.spec.repositories,
      resources: { cpu: row.cpu, memoryMb: Math.round(row.memoryGb * 1024), gpu: row.gpu, diskGb: row.diskGb },
    };
  }
}
