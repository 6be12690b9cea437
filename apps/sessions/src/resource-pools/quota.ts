/** Quota arithmetic: plain functions, so the rules are tested without a database. */
export interface Resources {
  cpu: number;
  memoryGb: number;
  gpu: number;
}

export const NO_RESOURCES: Resources = { cpu: 0, memoryGb: 0, gpu: 0 };

// Fractions of a CPU (0.1 + 0.2) must not refuse a launch that fits exactly.
const EPSILON = 1e-9;

export function remaining(quota: Resources, used: Resources): Resources {
  return {
    cpu: Math.max(0, round(quota.cpu - used.cpu)),
    memoryGb: Math.max(0, round(quota.memoryGb - used.memoryGb)),
    gpu: Math.max(0, quota.gpu - used.gpu),
  };
}

export function fits(request: Resources, quota: Resources, used: Resources): boolean {
  return (
    used.cpu + request.cpu <= quota.cpu + EPSILON &&
    used.memoryGb + request.memoryGb <= quota.memoryGb + EPSILON &&
    used.gpu + request.gpu <= quota.gpu
  );
}

/** One of the caller's own sessions that holds resources in the pool (what they can free themselves). */
export interface HeldSession extends Resources {
  name: string;
  status: string;
}

/**
 * The refusal a person reads: which pool, what is left, what the class needs, and what they can
 * do about it: which of their own sessions hold its resources (to hibernate), or that none do.
 */
export function quotaShortfall(poolName: string, className: string, request: Resources, quota: Resources, used: Resources, own?: HeldSession[]): string {
  const left = remaining(quota, used);
  const head = `resource pool "${poolName}" has ${describe(left)} left, but class "${className}" needs ${describe(request)}: `;
  if (own === undefined) return `${head}hibernate or delete a session in this pool, or choose a smaller class`;
  if (own.length === 0) {
    return `${head}none of it is held by your sessions (other people's use it); choose a smaller class or one of another pool, or ask an administrator for a larger quota`;
  }
  const listed = own.map((s) => `"${s.name}" (${s.status}, ${round(s.cpu)} CPU, ${round(s.memoryGb)} GB${s.gpu ? `, ${s.gpu} GPU` : ''})`).join(', ');
  return `${head}your sessions holding its resources are ${listed}; hibernate or delete one of them, or choose a smaller class`;
}

export function describe(r: Resources): string {
  return `${round(r.cpu)} CPU, ${round(r.memoryGb)} GB memory and ${r.gpu} GPU`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * The most sessions one user may hold (starting, running or stopping) in a pool at once: the
 * pool's own limit, else the service's default (SESSIONS_PER_USER_PER_POOL).
 */
export function sessionsPerUserLimit(poolLimit: number | null | undefined, serviceDefault: number): number {
  return poolLimit ?? serviceDefault;
}

/** The refusal a person reads when one more session would take them over the pool's per-user limit; null if it fits. */
export function sessionLimitProblem(poolName: string, limit: number, held: number): string | null {
  if (held < limit) return null;
  const sessions = (n: number) => `${n} session${n === 1 ? '' : 's'}`;
  return (
    `you already have ${sessions(held)} starting or running in resource pool "${poolName}", the most one user may have there (${limit}): ` +
    `hibernate or delete one of them first, or choose a class in another pool`
  );
}
