import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { buildCanceledV1, buildFailedV1, buildSucceededV1, sessionStartingV1, sessionStoppingV1 } from '@launchpad/contracts';
import { eventDataId, NATS_CONNECTION, OutboxWriter } from '@launchpad/messaging';
import { LeaderElection } from '@launchpad/persistence';
import { isActive, ReconcileController, type ReconcileResult, type ResourceSpec, type Runtime, type WorkloadSpec, type WorkloadStatus } from '@launchpad/runtime';
import { counter, gauge, HealthRegistry, reconcileMetrics, structuredLogger } from '@launchpad/telemetry';
import { DataSource, type EntityManager } from 'typeorm';
import { SecretBox } from '@launchpad/persistence';
import type { SessionsConfig } from '../config.js';
import { openSecretEnv, SESSION_SECRETS } from '../sessions/session-env.js';
import { SessionEntity } from '../sessions/session.entity.js';
import { SessionTransitions } from '../sessions/session-transitions.js';
import { SessionWakeups } from '../sessions/session-wakeups.js';
import { type CullingPolicy, NEVER, policyOf, sessionBasePath } from '../sessions/session-view.js';
import { programSecretEnv } from '../sessions/session-secret.js';
import { SESSION_RUNTIME, SESSIONS_CULLING } from '../sessions/tokens.js';
import { CheckIdleSession, idleConfirmed, PROBE_RETRY_MS } from '../culling/check-idle-session.usecase.js';
import { ImageBuildGate } from './image-build-gate.js';
import { planSession, PREPARING, type ReconcileAction } from './session-plan.js';

export const SESSIONS_CONFIG = Symbol('SESSIONS_CONFIG');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const actions = counter('launchpad_session_reconcile_actions_total', 'Steps the session reconciler took', ['action']);
const leading = gauge('launchpad_session_reconciler_leader', '1 on the replica whose reconciler acts, 0 elsewhere');

/**
 * Sessions reconciled at once (issue 13: bounded, and not one at a time for all). Each step is
 * short (a few queries, a runtime call that returns once the work is under way), so this is
 * about keeping the database pool from queueing, not about how many launches run at once.
 */
const RECONCILE_CONCURRENCY = 16;

/** The longest a ready session goes unlooked-at between resyncs, whatever its idle deadline. */
const MAX_IDLE_RECHECK_MS = 10 * 60_000;

/**
 * Makes the runtime match the sessions table, and the table reflect what the runtime reports.
 * Level-triggered, on one ReconcileController: woken by session events and runtime changes, one
 * step per reconcile (the next follows at once), and a periodic resync over the sessions that may
 * need work without an event saying so: not the hibernated and failed ones at rest, but those
 * whose hibernation has outlived its TTL (one query) and every workload the runtime runs. Only
 * the replica holding the leader lock acts.
 */
@Injectable()
export class SessionReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionReconciler.name);
  private readonly leader: LeaderElection;
  private readonly controller: ReconcileController;
  private subscriptions: Subscription[] = [];
  private unwatch: (() => void) | undefined;
  private unlisten: (() => void) | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly transitions: SessionTransitions,
    private readonly outbox: OutboxWriter,
    @Inject(SESSION_RUNTIME) private readonly runtime: Runtime,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SESSIONS_CULLING) private readonly culling: CullingPolicy,
    @Inject(SESSIONS_CONFIG) config: SessionsConfig,
    private readonly imageGate: ImageBuildGate,
    private readonly checkIdle: CheckIdleSession,
    health: HealthRegistry,
    /** Opens the sealed secret variables of a session; without keys, only sessions without secret variables start. */
    @Optional() @Inject(SESSION_SECRETS) private readonly secrets: SecretBox = new SecretBox([]),
    /** This replica's own use cases, heard from the moment they commit (their events follow). */
    @Optional() private readonly wakeups?: SessionWakeups,
  ) {
    this.controller = new ReconcileController({
      name: 'sessions',
      reconcile: (id) => this.reconcile(id),
      resyncKeys: () => this.resyncKeys(),
      resyncIntervalMs: config.reconciler.intervalMs,
      concurrency: RECONCILE_CONCURRENCY,
      isLeader: () => this.leader.isLeader,
      metrics: reconcileMetrics('sessions'),
      logger: structuredLogger(SessionReconciler.name),
    });
    this.leader = new LeaderElection({
      url: config.database.url,
      lockName: 'sessions-reconciler',
      intervalMs: config.reconciler.leaderElectionIntervalMs,
      applicationName: 'launchpad-sessions',
      onChange: (isLeader) => {
        leading.set(isLeader ? 1 : 0);
        this.controller.leadershipChanged(isLeader);
      },
    });
    health.register('runtime', async () => {
      await this.runtime.list();
    });
  }

  onApplicationBootstrap(): void {
    this.leader.start();
    this.unwatch = this.runtime.watch((event) => this.wake(event.id));
    this.unlisten = this.wakeups?.listen((id) => this.wake(id));
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
    // A build that finishes releases the sessions waiting for its image. Only the end of a build
    // can (pending, running and updated leave them waiting): not a query on every build event.
    for (const finished of [buildSucceededV1, buildFailedV1, buildCanceledV1]) {
      this.subscriptions.push(
        this.nc.subscribe(finished.type, {
          callback: (err) => {
            if (!err) void this.wakeWaitingForImages();
          },
        }),
      );
    }
    this.controller.start();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const sub of this.subscriptions) sub.unsubscribe();
    this.unwatch?.();
    this.unlisten?.();
    await this.controller.stop();
    await this.leader.stop();
    // Sessions keep running while this replica restarts; the next leader adopts them.
    await this.runtime.close();
  }

  /** Reconciles one session soon (only on the leader). */
  wake(id: string): void {
    this.controller.enqueue(id);
  }

  private async wakeWaitingForImages(): Promise<void> {
    if (!this.leader.isLeader) return;
    const rows: { id: string }[] = await this.dataSource.query(`SELECT id FROM sessions WHERE phase = 'waiting-for-image'`).catch(() => []);
    for (const { id } of rows) this.wake(id);
  }

  /** Runs a resync now (tests, and a new leader); see ReconcileController.resync. */
  async pass(): Promise<void> {
    await this.controller.resync();
  }

  /**
   * What a resync looks at: every session not at rest (a hibernated one whose TTL has not run out,
   * a failed one, are at rest: nothing happens to them until someone acts, and an action wakes
   * them), and every workload of the runtime that is active or has no session (an orphan).
   */
  private async resyncKeys(): Promise<string[]> {
    // A session's own TTL (its pool's) over the service's; 0: never deleted, always at rest.
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM sessions
        WHERE NOT (status = 'failed' AND desired_state = 'running')
          AND NOT (status = 'hibernated' AND desired_state = 'hibernated' AND hibernated_at IS NOT NULL
                   AND (coalesce(hibernated_ttl_ms, $1) = 0 OR hibernated_at > $2::timestamptz - coalesce(hibernated_ttl_ms, $1) * interval '1 millisecond'))`,
      [this.culling.hibernatedTtlMs, new Date()],
    );
    const keys = new Set(rows.map((r) => r.id));
    const resting: string[] = [];
    for (const workload of await this.runtime.list()) {
      if (workload.owner.service !== 'sessions' || keys.has(workload.id)) continue;
      if (isActive(workload.phase) || workload.reason === 'CrashLoopBackOff' || !UUID.test(workload.id)) keys.add(workload.id);
      else resting.push(workload.id);
    }
    if (resting.length > 0) {
      // Stopped workloads of sessions at rest are many (one per hibernated session): one query tells which have no session any more.
      const owned: { id: string }[] = await this.dataSource.query(`SELECT s.id FROM unnest($1::uuid[]) AS w(id) JOIN sessions s ON s.id = w.id`, [resting]);
      const ownedIds = new Set(owned.map((r) => r.id));
      for (const id of resting) if (!ownedIds.has(id)) keys.add(id);
    }
    return [...keys];
  }

  /** One step for one session; the controller calls it again at once when it took one. */
  private async reconcile(id: string): Promise<ReconcileResult> {
    const row = await this.dataSource.getRepository(SessionEntity).findOneBy({ id });
    const workload = await this.runtime.status(id);
    if (!row) {
      // The row goes only once its workload has (see `forget`): a workload without one is an orphan.
      if (workload && workload.owner.service === 'sessions') {
        this.logger.warn({ sessionId: id }, `removing workload ${id}: no session owns it`);
        actions.inc({ action: 'remove-orphan' });
        await this.runtime.remove(id);
      }
      return {};
    }
    const now = new Date();
    const action = planSession(row, workload, now, this.culling);
    if (action.kind === 'none') return this.untilIdleDeadline(row, workload, now);
    if (action.kind === 'record' && action.idle) {
      const after = await this.inUseAfterAll(row, now, action.idle);
      if (after) return after;
    }
    actions.inc({ action: action.kind });
    return (await this.execute(row, workload, action)) ? { requeue: true } : {};
  }

  /**
   * Idle by traffic, but is it? Asks the program (Jupyter: a busy kernel, recent kernel activity)
   * and moves the session's last interaction to what it says. Null: idle indeed, go on with the
   * plan; else when to plan again: at once when what it said changed the plan's premise, a little
   * later when it could not be asked (not for long yet). What was seen is kept for the idleReason.
   */
  private async inUseAfterAll(row: SessionEntity, now: Date, step: 'warn' | 'hibernate'): Promise<ReconcileResult | null> {
    const check = await this.checkIdle.execute(row, now);
    if (!check.seen) return null;
    const later = check.usedAt !== null && check.usedAt.getTime() > row.lastInteraction.getTime();
    await this.dataSource.query(
      `UPDATE sessions SET activity_seen = $2, last_interaction = CASE WHEN $3::timestamptz IS NULL THEN last_interaction ELSE greatest(last_interaction, $3) END WHERE id = $1`,
      [row.id, JSON.stringify(check.seen), later ? check.usedAt : null],
    );
    if (later) {
      this.logger.log({ sessionId: row.id }, `session ${row.id} is in use after all: Jupyter saw activity at ${check.usedAt!.toISOString()}${check.seen.busyKernels ? ` (${check.seen.busyKernels} kernel(s) busy)` : ''}`);
      actions.inc({ action: 'kept-in-use' });
      return { requeue: true };
    }
    if (check.askAgainInMs !== undefined) {
      actions.inc({ action: 'ask-again' });
      return { requeueAfterMs: check.askAgainInMs };
    }
    // Idle by Jupyter's own account: a hibernation waits for it to say so twice in a row.
    if (step === 'hibernate' && check.seen.error === undefined && !idleConfirmed(row.activitySeen, now)) {
      actions.inc({ action: 'confirm-idle' });
      return { requeueAfterMs: PROBE_RETRY_MS };
    }
    return null;
  }

  /** A ready session is looked at again when it would have been idle too long (a resync may come first). */
  private untilIdleDeadline(row: SessionEntity, workload: WorkloadStatus | null, now: Date): ReconcileResult {
    if (row.desiredState !== 'running' || row.status !== 'running' || workload?.phase !== 'ready') return {};
    const policy = policyOf(row, this.culling);
    if (policy.idleTimeoutMs === NEVER) return {};
    const dueAt = row.lastInteraction.getTime() + policy.idleTimeoutMs;
    // The warning first (unless given), then the hibernation.
    const warned = row.hibernationWarnedFor?.getTime() === row.lastInteraction.getTime();
    const dueInMs = (warned ? dueAt : dueAt - policy.warningMs) - now.getTime();
    return { requeueAfterMs: Math.min(MAX_IDLE_RECHECK_MS, Math.max(1_000, dueInMs + 50)) };
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
    let afterCommit: ((m: EntityManager) => Promise<void>) | undefined;
    await this.outbox.transaction(async (manager) => {
      const row = await manager.findOne(SessionEntity, { where: { id: seen.id }, lock: { mode: 'pessimistic_write' } });
      if (!row || row.desiredState !== seen.desiredState || row.progressSeq !== seen.progressSeq) return;
      if (planned.kind === 'record' && planSession(row, workload, new Date(), this.culling).kind !== 'record') return;
      await this.transitions.record(manager, row, change, { afterCommit: (work) => (afterCommit = work) });
    });
    // The session is ready and its event on its way (the relay was woken by the commit): its
    // launch's timing, an estimate for the next one, is written meanwhile.
    await afterCommit?.(this.dataSource.manager).catch((error: unknown) => {
      this.logger.warn({ sessionId: seen.id }, `the launch timing of session ${seen.id} was not recorded: ${(error as Error).message}`);
    });
  }

  private workloadSpec(row: SessionEntity): WorkloadSpec {
    const secret = openSecretEnv(this.secrets, row.id, row.secretEnv);
    const placement = row.spec.placement;
    return {
      id: row.id,
      kind: 'session',
      owner: { service: 'sessions', id: row.id },
      image: row.image,
      command: row.spec.command,
      args: row.spec.args,
      env: row.spec.env,
      // Secret values apart (a Kubernetes Secret, not the pod template); they win over `env` on a
      // shared name, and the program's own secret (Jupyter's token) last: the environment's
      // variables cannot override it.
      secretEnv: { ...secret?.env, ...programSecretEnv(row) },
      secretFiles: secret?.files ?? [],
      mounts: secret?.mounts ?? [],
      port: row.spec.port,
      baseUrl: sessionBasePath(row.id),
      defaultUrl: row.spec.defaultUrl,
      workingDirectory: row.spec.workingDirectory,
      repositories: row.spec.repositories,
      resources: resourcesOf(row),
      // Absent in rows from before they were recorded: the runtime's defaults (and the same spec hash as before).
      ...(row.spec.security ? { security: row.spec.security } : {}),
      ...(placement ? { storageClassName: placement.storageClassName, scheduling: { nodeSelector: placement.nodeSelector, tolerations: placement.tolerations } } : {}),
    };
  }
}

/** Requests from the row (the class at launch or resume), limits and the GPU's resource name from its placement. */
export function resourcesOf(row: Pick<SessionEntity, 'cpu' | 'memoryGb' | 'gpu' | 'diskGb' | 'spec'>): ResourceSpec {
  const requests = { cpu: row.cpu, memoryMb: Math.round(row.memoryGb * 1024), gpu: row.gpu, diskGb: row.diskGb };
  const placement = row.spec.placement;
  if (!placement) return requests;
  const { cpu, memoryGb } = placement.limits;
  return {
    ...requests,
    limits: { cpu, memoryMb: memoryGb === null ? null : Math.round(memoryGb * 1024) },
    ...(placement.gpuResourceName ? { gpuResourceName: placement.gpuResourceName } : {}),
  };
}
