import type { AppStatus } from '@launchpad/contracts';
import type { WorkloadStatus } from '@launchpad/runtime';

/** `<appId>-g<generation>-r<ordinal>`: a plain name the runtime accepts, that says whose it is. */
export function replicaId(appId: string, generation: number, ordinal: number): string {
  return `${appId}-g${generation}-r${ordinal}`;
}

export function parseReplicaId(id: string): { appId: string; generation: number; ordinal: number } | null {
  const match = /^(.+)-g(\d+)-r(\d+)$/.exec(id);
  return match ? { appId: match[1]!, generation: Number(match[2]), ordinal: Number(match[3]) } : null;
}

/** How a person calls a replica in logs: `r1`. */
export const replicaLabel = (id: string) => `r${parseReplicaId(id)?.ordinal ?? '?'}`;

export interface PlannedApp {
  appId: string;
  status: AppStatus;
  generation: number;
  desiredReplicas: number;
  /** False while the command is not known yet (a Procfile still to read): nothing can start. */
  runnable: boolean;
}

export type ReplicaAction =
  /** Start it: new, stopped, or replacing one that crashed after it had been ready. */
  | { kind: 'start'; id: string; replacing: boolean }
  /** Out of rotation since `since`: stopped once the drain time is over. */
  | { kind: 'drain'; id: string }
  | { kind: 'stop'; id: string }
  | { kind: 'remove'; id: string }
  /** A replica never became ready: the app has failed. */
  | { kind: 'fail'; id: string; message: string };

export interface ReplicaPlan {
  actions: ReplicaAction[];
  /** Ready replicas in rotation, in replica order: what the activators route to. */
  endpoints: string[];
  /** Replicas wanted and on their way (preparing, starting or ready): the runtime should be watching them. */
  running: string[];
}

export interface DrainOptions {
  /** Whether requests are still in flight on the replica (an activator reports them). */
  busy?: (workload: WorkloadStatus) => boolean;
  /** The longest a busy replica is kept draining (at least `drainMs`). */
  maxMs?: number;
}

const isActive = (w: WorkloadStatus) => w.phase === 'preparing' || w.phase === 'starting' || w.phase === 'ready';

/**
 * The replica reconciler's judgement, as one pure function: what the runtime should change for
 * an app to have `desiredReplicas` replicas of its current generation running, and where its
 * traffic goes. Level-triggered: applied again and again, it converges from anything.
 * - inactive: every replica is removed; failed: every replica is stopped (its output kept to read);
 * - a wanted replica that is missing or stopped is started; one that failed after being ready
 *   (a crash, a kill) is started again; one that failed before it was ever ready fails the app,
 *   unless another replica serves (then it is tried again);
 * - replicas beyond the count leave the rotation at once and are stopped after `drainMs`, or,
 *   while an activator still has requests on them (`busy`), once those end but at the latest
 *   after `maxMs`; their files are kept for the next scale-up; replicas of an older generation
 *   are removed.
 */
export function planReplicas(
  app: PlannedApp | null,
  workloads: readonly WorkloadStatus[],
  now: number,
  draining: ReadonlyMap<string, number>,
  drainMs: number,
  { busy = () => false, maxMs = drainMs }: DrainOptions = {},
): ReplicaPlan {
  const actions: ReplicaAction[] = [];
  const running: string[] = [];
  const ready = new Map<number, string>();
  if (!app || app.status === 'inactive') {
    return { actions: workloads.map((w) => ({ kind: 'remove', id: w.id })), endpoints: [], running };
  }
  if (app.status === 'failed') {
    return { actions: workloads.filter(isActive).map((w) => ({ kind: 'stop', id: w.id })), endpoints: [], running };
  }
  const wanted = new Set<string>();
  if (app.runnable) for (let i = 1; i <= app.desiredReplicas; i++) wanted.add(replicaId(app.appId, app.generation, i));
  const seen = new Set<string>();
  for (const w of workloads) {
    seen.add(w.id);
    const parsed = parseReplicaId(w.id);
    if (!parsed || parsed.appId !== app.appId || parsed.generation !== app.generation) {
      actions.push({ kind: 'remove', id: w.id });
    } else if (wanted.has(w.id)) {
      switch (w.phase) {
        case 'stopped':
          actions.push({ kind: 'start', id: w.id, replacing: false });
          break;
        case 'failed':
          if (w.readyAt !== null) actions.push({ kind: 'start', id: w.id, replacing: true });
          else actions.push({ kind: 'fail', id: w.id, message: w.message ?? 'it stopped before it was ready, for an unknown reason' });
          break;
        default:
          running.push(w.id);
          if (w.phase === 'ready' && w.endpoint) ready.set(parsed.ordinal, w.endpoint);
      }
    } else if (isActive(w)) {
      const since = draining.get(w.id);
      if (since === undefined) actions.push({ kind: 'drain', id: w.id });
      else if (now - since >= drainMs && (now - since >= maxMs || !busy(w))) actions.push({ kind: 'stop', id: w.id });
    }
  }
  for (const id of wanted) if (!seen.has(id)) actions.push({ kind: 'start', id, replacing: false });
  // While another replica serves, one that did not become ready (a slow start under load) is tried
  // again: the app fails only when it cannot serve at all.
  if (ready.size > 0) {
    for (const [i, action] of actions.entries()) if (action.kind === 'fail') actions[i] = { kind: 'start', id: action.id, replacing: true };
  }
  const endpoints = [...ready.entries()].sort(([a], [b]) => a - b).map(([, endpoint]) => endpoint);
  return { actions, endpoints, running };
}
