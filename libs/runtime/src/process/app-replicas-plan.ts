import { isActive, type WorkloadStatus } from '../runtime.js';

/** `<appId>-g<generation>-r<ordinal>`: a DNS-1123 label (for an app id of at most 40 characters) that says whose it is. */
export function replicaId(appId: string, generation: number, ordinal: number): string {
  return `${appId}-g${generation}-r${ordinal}`;
}

export function parseReplicaId(id: string): { appId: string; generation: number; ordinal: number } | null {
  const match = /^(.+)-g(\d+)-r(\d+)$/.exec(id);
  return match ? { appId: match[1]!, generation: Number(match[2]), ordinal: Number(match[3]) } : null;
}

/** How the driver treats a replica that keeps stopping on its own (the kubelet's CrashLoopBackOff, on one machine). */
export interface RestartPolicy {
  /** The wait before the first restart, doubled after each quick crash in a row. */
  backoffMs: number;
  maxBackoffMs: number;
  /** A crash counts towards the streak when the replica had run less than this; after a longer run the streak starts again. */
  windowMs: number;
}

/** One replica's crashes: how many quick ones in a row, when it may be started again, and which run was judged. */
export interface CrashRecord {
  streak: number;
  notBefore: number;
  /** `startedAt` of the run that crashed, so each crash is judged once. */
  run: string;
}

export interface PlannedApp {
  appId: string;
  generation: number;
  replicas: number;
  removeFirst: readonly string[];
  drainMs: number;
  /** workloadSpecHash of the template: a member that runs another is started again with this one. */
  specHash: string;
}

export type AppReplicaAction =
  | { kind: 'start'; id: string }
  /** Start it again after a crash (its backoff is over). */
  | { kind: 'restart'; id: string }
  /** It runs an older template: start it again with the current one. */
  | { kind: 'roll'; id: string }
  /** Take it out of rotation: stopped once its drain is over. */
  | { kind: 'drain'; id: string }
  /** Wanted again while draining: back into rotation. */
  | { kind: 'undrain'; id: string }
  | { kind: 'stop'; id: string }
  | { kind: 'remove'; id: string };

export interface AppReplicaPlan {
  actions: AppReplicaAction[];
  /** Crash records to keep (judged this time or before); the others are forgotten. */
  crashes: Map<string, CrashRecord>;
  /** Ready replicas in rotation, in ordinal order. */
  endpoints: string[];
  /** When to look again without an event (a drain or a restart backoff ends); null: no deadline. */
  wakeInMs: number | null;
}

export interface DrainCheck {
  /** Whether requests are still in flight on the replica; a busy one drains up to `maxMs`. */
  busy: (workload: WorkloadStatus) => boolean;
  maxMs: number;
}

/** How often a busy draining replica is looked at again. */
const BUSY_RECHECK_MS = 250;

const ordinalOf = (w: WorkloadStatus) => parseReplicaId(w.id)?.ordinal ?? Number.MAX_SAFE_INTEGER;

/**
 * The process driver's Deployment controller and kubelet in one pure function: what to change for
 * an app to have `replicas` replicas of its current generation, given what runs and what it
 * remembers (replicas draining since when, crash records).
 * - replicas of another generation are removed;
 * - the members (current generation, not draining, not stopped) are brought to `replicas`:
 *   extra ones drain, `removeFirst` first, then ones not ready, then the highest ordinal; missing
 *   ones come from draining ones first, then from the lowest free ordinals (a stopped replica
 *   keeps its files and is started again);
 * - a member that failed after it had been ready, or while another member serves, is restarted
 *   after a backoff that doubles with each quick crash in a row; one that failed before it was
 *   ever ready while none serves stays failed: the app cannot start, and its owner hears it;
 * - a member that runs another template (its spec hash differs) is started again with this one;
 * - a draining replica is stopped once `drainMs` is over and it is not busy, or after `maxMs`.
 */
export function planAppReplicas(
  app: PlannedApp,
  workloads: readonly WorkloadStatus[],
  now: number,
  draining: ReadonlyMap<string, number>,
  previousCrashes: ReadonlyMap<string, CrashRecord>,
  restart: RestartPolicy,
  drain: DrainCheck,
): AppReplicaPlan {
  const actions: AppReplicaAction[] = [];
  const crashes = new Map<string, CrashRecord>();
  let wakeAt: number | null = null;
  const wakeBy = (at: number) => (wakeAt = wakeAt === null ? at : Math.min(wakeAt, at));

  const current: WorkloadStatus[] = [];
  for (const w of workloads) {
    const parsed = parseReplicaId(w.id);
    if (!parsed || parsed.appId !== app.appId || parsed.generation !== app.generation) actions.push({ kind: 'remove', id: w.id });
    else current.push(w);
  }
  current.sort((a, b) => ordinalOf(a) - ordinalOf(b));
  const isDraining = (w: WorkloadStatus) => draining.has(w.id) && isActive(w.phase);
  let members = current.filter((w) => !isDraining(w) && w.phase !== 'stopped');

  if (members.length > app.replicas) {
    const preference = (w: WorkloadStatus) => {
      const i = app.removeFirst.indexOf(w.id);
      return i >= 0 ? i : app.removeFirst.length + (w.phase === 'ready' ? 1 : 0);
    };
    const victims = [...members].sort((a, b) => preference(a) - preference(b) || ordinalOf(b) - ordinalOf(a)).slice(0, members.length - app.replicas);
    // A failed one is left as it is (its reason and output stay to be read); an active one drains.
    for (const victim of victims) if (isActive(victim.phase)) actions.push({ kind: 'drain', id: victim.id });
    members = members.filter((w) => !victims.includes(w));
  } else if (members.length < app.replicas) {
    for (const w of current.filter(isDraining)) {
      if (members.length >= app.replicas) break;
      actions.push({ kind: 'undrain', id: w.id });
      members.push(w);
    }
    const taken = new Set(members.map(ordinalOf));
    for (const w of current) if (isDraining(w)) taken.add(ordinalOf(w));
    for (let ordinal = 1; members.length + actions.filter((a) => a.kind === 'start').length < app.replicas; ordinal++) {
      if (!taken.has(ordinal)) actions.push({ kind: 'start', id: replicaId(app.appId, app.generation, ordinal) });
    }
  }

  const serving = members.some((w) => w.phase === 'ready' && w.endpoint);
  for (const w of members) {
    const known = previousCrashes.get(w.id);
    if (w.phase !== 'failed') {
      if (known) crashes.set(w.id, known); // the streak is kept until a long run resets it at the next crash
      if (w.specHash !== null && w.specHash !== app.specHash) actions.push({ kind: 'roll', id: w.id });
      continue;
    }
    if (w.readyAt === null && !serving) continue; // cannot start at all: left failed for its owner to see
    const run = w.startedAt ?? '';
    let record = known;
    if (!record || record.run !== run) {
      const ranMs = w.startedAt ? now - Date.parse(w.startedAt) : 0;
      const streak = ranMs < restart.windowMs ? (known?.streak ?? 0) + 1 : 1;
      record = { streak, run, notBefore: now + Math.min(restart.maxBackoffMs, restart.backoffMs * 2 ** (streak - 1)) };
    }
    crashes.set(w.id, record);
    if (now >= record.notBefore) actions.push({ kind: 'restart', id: w.id });
    else wakeBy(record.notBefore);
  }

  for (const w of current) {
    if (!isDraining(w) || actions.some((a) => a.kind === 'undrain' && a.id === w.id)) continue;
    const since = draining.get(w.id)!;
    const elapsed = now - since;
    if (elapsed >= app.drainMs && (elapsed >= drain.maxMs || !drain.busy(w))) actions.push({ kind: 'stop', id: w.id });
    else wakeBy(elapsed < app.drainMs ? since + app.drainMs : now + BUSY_RECHECK_MS);
  }

  const endpoints = members.filter((w) => w.phase === 'ready' && w.endpoint).map((w) => w.endpoint!);
  return { actions, crashes, endpoints, wakeInMs: wakeAt === null ? null : Math.max(0, wakeAt - now) };
}
