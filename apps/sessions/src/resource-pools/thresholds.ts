import { CommonErrorCode, SessionsError } from '@launchpad/contracts';

/** What a session asks for, in seconds (0 = never), and where each ask comes from (for the refusal's words). */
export interface ThresholdRequest {
  idleS?: number | null;
  /** `idleThresholdS` (the launch's), or `the launcher's idleThresholdS`. */
  idleSource?: string;
  hibernationS?: number | null;
  hibernationSource?: string;
}

export interface SessionThresholds {
  /** ms; 0 = never; null: the service's default. */
  idleTimeoutMs: number | null;
  hibernatedTtlMs: number | null;
}

type Pool = { name: string; idleThresholdS?: number | null; hibernationThresholdS?: number | null };

/**
 * A session's own thresholds: what it (its launch, else its launcher) asks for, within its pool's
 * bounds (the pool's own, else the service's default); nothing asked: the pool's. A bound of 0
 * (never) allows anything; asking for 0 (never) needs such a pool. Plain, so it is tested alone.
 */
export function thresholdsFor(pool: Pool, request: ThresholdRequest, defaults: { idleTimeoutMs: number; hibernatedTtlMs: number }): SessionThresholds {
  return {
    idleTimeoutMs: within(pool, pool.idleThresholdS, defaults.idleTimeoutMs, request.idleS, request.idleSource ?? 'idleThresholdS', 'idleThresholdS', (b) => `its sessions are hibernated after at most ${b} s idle`),
    hibernatedTtlMs: within(
      pool,
      pool.hibernationThresholdS,
      defaults.hibernatedTtlMs,
      request.hibernationS,
      request.hibernationSource ?? 'hibernationThresholdS',
      'hibernationThresholdS',
      (b) => `its hibernated sessions are deleted after at most ${b} s`,
    ),
  };
}

function within(
  pool: Pool,
  poolS: number | null | undefined,
  defaultMs: number,
  requestedS: number | null | undefined,
  source: string,
  path: string,
  bounded: (boundS: number) => string,
): number | null {
  const own = poolS === null || poolS === undefined ? null : poolS * 1000;
  if (requestedS === null || requestedS === undefined) return own;
  const boundMs = own ?? defaultMs;
  const requestedMs = requestedS * 1000;
  if (boundMs === 0 || (requestedMs !== 0 && requestedMs <= boundMs)) return requestedMs;
  const bound = boundMs / 1000;
  throw new SessionsError(
    CommonErrorCode.VALIDATION_FAILED,
    `${source} ${requestedS} is not allowed in resource pool "${pool.name}": ${bounded(bound)} (ask for 1 to ${bound})`,
    [{ path, message: `1 to ${bound} in pool "${pool.name}"` }],
  );
}
