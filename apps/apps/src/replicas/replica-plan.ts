import type { AppStatus } from '@launchpad/contracts';
import { type AppWorkloadStatus, parseReplicaId, type WorkloadStatus } from '@launchpad/runtime';

// `<appId>-g<generation>-r<ordinal>` is how the process driver names replicas (a pod has its own name).
export { parseReplicaId };

/** How a person calls a replica in logs: `r1`, or the pod's own name. */
export const replicaLabel = (id: string) => {
  const parsed = parseReplicaId(id);
  return parsed ? `r${parsed.ordinal}` : id;
};

export interface PlannedApp {
  appId: string;
  status: AppStatus;
  generation: number;
  desiredReplicas: number;
  /** False while the command is not known yet (a Procfile still to read): nothing can start. */
  runnable: boolean;
}

export type ReplicaStep =
  /** Nothing to ask of the runtime. */
  | { kind: 'none' }
  /** Set the app's template, generation and replica count (idempotent: every reconcile). */
  | { kind: 'ensure' }
  /** A failed app: no replica runs (their output stays to read). */
  | { kind: 'scale-to-zero' }
  /** Off or gone: every replica and its data go. */
  | { kind: 'remove' };

export interface ReplicaPlan {
  step: ReplicaStep;
  /** Ready replicas in rotation: what the activators route to. */
  endpoints: string[];
  /** The app cannot run: why, in words for a person; null while it can. */
  failure: string | null;
}

export interface CrashLimit {
  /** This many crashes in a row, each soon after starting, and the app has failed. */
  limit: number;
  /** What "soon" is (the runtime counts a crash towards the streak within it). */
  windowMs: number;
}

const current = (app: PlannedApp, w: WorkloadStatus) => w.appGeneration === undefined || w.appGeneration === app.generation;

/**
 * The replica reconciler's judgement, as one pure function of the app's row and what the runtime
 * reports for the app as a whole (AppWorkloadStatus): what to ask of the runtime, where traffic
 * goes, and whether the app has failed. Which replica is which, restarts and drains are the
 * runtime's (a Deployment's and the kubelet's; the process driver does the same).
 * - inactive or deleted: every replica is removed; failed: scaled to zero;
 * - active and runnable: the runtime is asked for `desiredReplicas`; the app fails when a replica
 *   of its generation crashed `limit` times in a row (the runtime says CrashLoopBackOff and how
 *   many), or failed before it was ever ready while no replica serves.
 */
export function planReplicas(app: PlannedApp | null, status: AppWorkloadStatus | null, crashes: CrashLimit): ReplicaPlan {
  if (!app || app.status === 'inactive') return { step: status ? { kind: 'remove' } : { kind: 'none' }, endpoints: [], failure: null };
  if (app.status === 'failed') {
    const running = status !== null && (status.replicas > 0 || status.instances.some((w) => w.phase !== 'stopped' && w.phase !== 'failed'));
    return { step: running ? { kind: 'scale-to-zero' } : { kind: 'none' }, endpoints: [], failure: null };
  }
  if (!app.runnable) return { step: { kind: 'none' }, endpoints: [], failure: null };
  const endpoints = status && status.generation === app.generation ? status.endpoints : [];
  const instances = status?.instances.filter((w) => current(app, w)) ?? [];
  for (const w of instances) {
    if (w.phase !== 'failed') continue;
    if (w.reason === 'CrashLoopBackOff') {
      if (w.restarts >= crashes.limit) {
        const within = Math.round(crashes.windowMs / 100) / 10;
        return {
          step: { kind: 'ensure' },
          endpoints,
          failure: `replica ${replicaLabel(w.id)} keeps crashing: it stopped ${w.restarts} times in a row, each within ${within} s of starting; the last time it ${w.message ?? 'stopped'}`,
        };
      }
    } else if (w.readyAt === null && endpoints.length === 0) {
      return {
        step: { kind: 'ensure' },
        endpoints,
        failure: `replica ${replicaLabel(w.id)} did not become ready: ${w.message ?? 'it stopped before it was ready, for an unknown reason'}`,
      };
    }
  }
  return { step: { kind: 'ensure' }, endpoints, failure: null };
}
