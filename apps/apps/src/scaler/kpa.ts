/**
 * The scaler's arithmetic, after Knative's KPA (pkg/autoscaler/scaling/autoscaler.go), as pure
 * functions: desired replicas = ceil(observed concurrency / target per replica), averaged over a
 * stable window, or over a short panic window while a burst exceeds twice the current capacity
 * (then it scales up at once and does not scale down); clamped to [min, max]; to zero only after
 * an idle grace period without requests.
 */

export interface ScalePolicy {
  targetConcurrency: number;
  minReplicas: number;
  maxReplicas: number;
  stableWindowMs: number;
  panicWindowMs: number;
  /** Panic when the panic-window demand reaches this many times the ready capacity (Knative: 2). */
  panicThreshold: number;
  /** No scale to zero until this long after the last request. */
  idleGraceMs: number;
}

/** Observed concurrency (in flight plus queued, summed over every activator) at one tick. */
export interface Sample {
  at: number;
  concurrency: number;
}

export interface ScaleInput {
  now: number;
  /** Oldest first; those older than the stable window are ignored. */
  samples: readonly Sample[];
  /** Replicas asked for now. */
  current: number;
  /** Replicas that answer now. */
  ready: number;
  /** Concurrency right now (not averaged): anything waiting needs at least one replica. */
  concurrencyNow: number;
  lastRequestAt: number | null;
  /** Until when the scaler stays in panic mode, from the previous decision (null: not panicking). */
  panicUntil: number | null;
  /** Since when this scaler has watched the app: it never scales down on less than a stable window of evidence. */
  observingSince: number;
}

export interface ScaleDecision {
  desired: number;
  panicUntil: number | null;
  stableConcurrency: number;
  panicConcurrency: number;
  reason: string;
}

/** The mean concurrency of the samples in (now - window, now]; 0 without any. */
export function windowAverage(samples: readonly Sample[], now: number, windowMs: number): number {
  let sum = 0;
  let count = 0;
  for (const s of samples) {
    if (s.at > now - windowMs && s.at <= now) {
      sum += s.concurrency;
      count++;
    }
  }
  return count === 0 ? 0 : sum / count;
}

/** Replicas needed for a concurrency; a tiny epsilon keeps 20.0000001 from becoming 21. */
export function replicasFor(concurrency: number, target: number): number {
  return concurrency <= 0 ? 0 : Math.ceil(concurrency / target - 1e-9);
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));
const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
const round = (n: number) => Math.round(n * 10) / 10;

export function decideScale(input: ScaleInput, policy: ScalePolicy): ScaleDecision {
  const { now, current } = input;
  const stable = windowAverage(input.samples, now, policy.stableWindowMs);
  const panic = windowAverage(input.samples, now, policy.panicWindowMs);
  const desiredStable = replicasFor(stable, policy.targetConcurrency);
  const desiredPanic = replicasFor(panic, policy.targetConcurrency);

  // Knative counts at least one ready replica, so a first request to an app at zero is no burst.
  const capacity = Math.max(1, input.ready) * policy.targetConcurrency;
  const overThreshold = panic >= policy.panicThreshold * capacity;
  let panicUntil = input.panicUntil !== null && input.panicUntil > now ? input.panicUntil : null;
  if (overThreshold) panicUntil = now + policy.stableWindowMs;

  let desired: number;
  let reason: string;
  if (panicUntil !== null) {
    desired = Math.max(desiredPanic, current);
    reason = overThreshold
      ? `panic: ${round(panic)} concurrent requests over the last ${seconds(policy.panicWindowMs)}, at least ${policy.panicThreshold}x the capacity of ${Math.max(1, input.ready)} ready replica(s)`
      : `panic mode until the burst has been over for ${seconds(policy.stableWindowMs)}: not scaling down`;
  } else {
    desired = desiredStable;
    reason = `average concurrency ${round(stable)} over the last ${seconds(policy.stableWindowMs)}, target ${policy.targetConcurrency} per replica`;
  }

  if (input.concurrencyNow > 0 && desired < 1) {
    desired = 1;
    reason = `${input.concurrencyNow} request(s) waiting`;
  }
  if (desired === 0 && current > 0) {
    const idleFor = input.lastRequestAt === null ? Infinity : now - input.lastRequestAt;
    if (idleFor < policy.idleGraceMs) {
      desired = 1;
      reason = `idle for ${seconds(idleFor)}; scaling to zero after ${seconds(policy.idleGraceMs)} without requests`;
    } else {
      reason = input.lastRequestAt === null ? 'no requests: scaling to zero' : `idle for ${seconds(idleFor)}: scaling to zero`;
    }
  }
  if (desired < current && now - input.observingSince < policy.stableWindowMs) {
    desired = current;
    reason = `not scaling down before watching the app for ${seconds(policy.stableWindowMs)}`;
  }
  const clamped = clamp(desired, policy.minReplicas, policy.maxReplicas);
  if (clamped !== desired) reason = `${reason}; ${clamped > desired ? `at least minReplicas ${policy.minReplicas}` : `capped at maxReplicas ${policy.maxReplicas}`}`;
  return { desired: clamped, panicUntil, stableConcurrency: stable, panicConcurrency: panic, reason };
}
