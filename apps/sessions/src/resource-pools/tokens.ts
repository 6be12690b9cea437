/** `{ sessionsPerUserPerPool }`: the service's default for pools that set no limit of their own (SESSIONS_PER_USER_PER_POOL). */
export const POOL_LIMITS = Symbol('POOL_LIMITS');
export interface PoolLimits {
  sessionsPerUserPerPool: number;
}
