import { isActive, type WorkloadStatus } from '@launchpad/runtime';
import type { SessionEntity } from '../sessions/session.entity.js';
import type { SessionChange } from '../sessions/session-transitions.js';
import { explainFailure } from './failure-causes.js';
import { type CullingPolicy, duration, NEVER, policyOf } from '../sessions/session-view.js';

export type ReconcileAction =
  | { kind: 'none' }
  /** Make the runtime run it (prepare, start, watch for readiness). */
  | { kind: 'start' }
  /** Stop the program, keep its files. */
  | { kind: 'stop' }
  /** Stop the program and delete its files. */
  | { kind: 'remove' }
  /** Nothing runs and nothing is wanted: drop the row. */
  | { kind: 'forget' }
  /**
   * Bring the table in line with what the runtime reports, or with the culling policy. `idle`:
   * the change warns about or starts an idle hibernation, which the program may still refute
   * (a busy Jupyter kernel, see CheckIdleSession) before it is applied.
   */
  | { kind: 'record'; change: SessionChange; idle?: 'warn' | 'hibernate' };

export type PlannedSession = Pick<SessionEntity, 'status' | 'desiredState' | 'phase' | 'lastInteraction' | 'hibernatedAt' | 'endpoint'> &
  Partial<Pick<SessionEntity, 'message' | 'idleTimeoutMs' | 'hibernatedTtlMs' | 'hibernationWarnedFor' | 'diskUsedBytes' | 'diskGb'>>;

const NONE: ReconcileAction = { kind: 'none' };

/**
 * The reconciler's whole judgement, as one pure function: given what the table wants and what the
 * runtime reports, the single next step. Applied repeatedly until it says `none`, it converges
 * whatever happened before (a crash mid-launch, a killed process, a missed event).
 */
export function planSession(row: PlannedSession, workload: WorkloadStatus | null, now: Date, defaults: CullingPolicy): ReconcileAction {
  // The session's own thresholds (its pool's, or what its launch asked for) over the service's.
  const policy = policyOf(row, defaults);
  const active = workload !== null && isActive(workload.phase);
  switch (row.desiredState) {
    case 'deleted':
      return workload ? { kind: 'remove' } : { kind: 'forget' };

    case 'hibernated':
      if (active) return { kind: 'stop' };
      if (row.status !== 'hibernated') {
        return {
          kind: 'record',
          change: {
            status: 'hibernated',
            phase: 'hibernated',
            message: 'hibernated: the session is stopped and its files are kept; resume it to continue',
            hibernatedAt: now,
            endpoint: null,
          },
        };
      }
      if (row.hibernatedAt && policy.hibernatedTtlMs !== NEVER && now.getTime() - row.hibernatedAt.getTime() >= policy.hibernatedTtlMs) {
        return {
          kind: 'record',
          change: {
            status: 'stopping',
            desiredState: 'deleted',
            phase: 'stopping',
            message: `deleting: hibernated for more than ${duration(policy.hibernatedTtlMs)}`,
          },
        };
      }
      return NONE;

    case 'running': {
      // A runtime that restarts crashed programs itself (the kubelet) keeps trying while it says CrashLoopBackOff: stop it.
      if (row.status === 'failed') return active || workload?.reason === 'CrashLoopBackOff' ? { kind: 'stop' } : NONE;
      // A launch or resume not yet handed to the runtime: an old failure of the workload is history.
      const handedOver = row.phase !== 'queued' && row.phase !== 'resuming' && row.phase !== 'waiting-for-image';
      if (!workload || workload.phase === 'stopped' || (workload.phase === 'failed' && !handedOver)) return { kind: 'start' };
      switch (workload.phase) {
        case 'failed':
          return {
            kind: 'record',
            change: { status: 'failed', phase: 'failed', message: explainFailure(workload.message ?? 'the session stopped for an unknown reason', row), endpoint: null },
          };
        case 'pending':
          // Waiting for the cluster (room on a node, a volume, an image pull): the person sees for what.
          return row.phase === 'starting' && row.message === pendingMessage(workload)
            ? NONE
            : { kind: 'record', change: { phase: 'starting', message: pendingMessage(workload), endpoint: null } };
        case 'preparing':
          return row.phase === 'preparing' ? NONE : { kind: 'record', change: { phase: 'preparing', message: PREPARING } };
        case 'starting':
          return row.phase === 'starting'
            ? NONE
            : { kind: 'record', change: { phase: 'starting', message: 'starting: waiting for the session to answer', endpoint: workload.endpoint } };
        case 'ready':
          if (row.status !== 'running' || row.endpoint !== workload.endpoint) {
            return {
              kind: 'record',
              change: { status: 'running', phase: 'ready', message: 'ready', endpoint: workload.endpoint, startedAt: now, lastInteraction: now },
            };
          }
          if (policy.idleTimeoutMs === NEVER) return NONE;
          if (now.getTime() - row.lastInteraction.getTime() >= policy.idleTimeoutMs) {
            return {
              kind: 'record',
              idle: 'hibernate',
              change: {
                status: 'stopping',
                desiredState: 'hibernated',
                phase: 'hibernating',
                message: `hibernating: unused for more than ${duration(policy.idleTimeoutMs)}; its files are kept`,
                hibernationReason: `idle for more than ${duration(policy.idleTimeoutMs)}`,
              },
            };
          }
          // Announced once per idle stretch, warningMs before: the stream and an event say when, and how to keep it.
          const due = row.lastInteraction.getTime() + policy.idleTimeoutMs;
          if (now.getTime() >= due - policy.warningMs && row.hibernationWarnedFor?.getTime() !== row.lastInteraction.getTime()) {
            return {
              kind: 'record',
              idle: 'warn',
              change: {
                phase: 'ready',
                message: `will hibernate at ${new Date(due).toISOString()}: unused since ${row.lastInteraction.toISOString()}; use it, or PATCH {"lastInteraction":"now"}, to keep it running`,
                hibernationWarnedFor: row.lastInteraction,
              },
            };
          }
          return NONE;
      }
    }
  }
  return NONE;
}

const pendingMessage = (workload: WorkloadStatus) => `starting: ${workload.message ?? 'waiting for the cluster to run it'}`;

export const PREPARING = 'preparing: making the work directory and cloning the project repositories';
