/** How the replica reconciler treats a replica that keeps stopping on its own. */
export interface CrashPolicy {
  /** This many crashes in a row, each soon after its start, and the app has failed. */
  limit: number;
  /** A crash counts towards the limit when the replica had run less than this; after a longer run the count starts again. */
  windowMs: number;
  /** The wait before the first restart, doubled after each crash in a row. */
  backoffMs: number;
  maxBackoffMs: number;
}

export type CrashVerdict =
  /** Start it again, not before `notBefore`. */
  | { kind: 'restart'; crashes: number; notBefore: number }
  /** It crashed `crashes` times in a row, each soon after starting: the app has failed. */
  | { kind: 'fail'; crashes: number };

/**
 * What to do about a replica that stopped on its own after `ranMs`, having crashed `previous`
 * times in a row before: start it again after a growing pause (as Kubernetes' CrashLoopBackOff
 * does), or, after `limit` quick crashes, give up so that a person hears about it.
 */
export function afterCrash(previous: number, ranMs: number, now: number, policy: CrashPolicy): CrashVerdict {
  const crashes = ranMs < policy.windowMs ? previous + 1 : 1;
  if (crashes >= policy.limit) return { kind: 'fail', crashes };
  return { kind: 'restart', crashes, notBefore: now + Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (crashes - 1)) };
}
