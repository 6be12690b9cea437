import type { EntityManager } from 'typeorm';

/**
 * The name of one Postgres advisory lock, made only by a named key builder (e.g. `poolLock(id)`
 * in a service's `locks.ts`, where that service's lock order is written down), never spelt out
 * at a call site.
 */
export type LockKey = string & { readonly __lockKey: true };

/** For key builders: `launchpad:<service>:<what>:<id>...`, hashed by Postgres into the lock's number. */
export function lockKey(service: string, ...parts: string[]): LockKey {
  return ['launchpad', service, ...parts].join(':') as LockKey;
}

/**
 * Takes a transaction-level advisory lock (released at commit or rollback): exclusive, or
 * shared with other shared holders. `manager` must be inside a transaction, else the lock is
 * gone as soon as the statement ends.
 */
export async function advisoryLock(manager: EntityManager, key: LockKey, mode: 'exclusive' | 'shared' = 'exclusive'): Promise<void> {
  if (manager.queryRunner && !manager.queryRunner.isTransactionActive) throw new Error(`advisory lock ${key} taken outside a transaction`);
  await manager.query(mode === 'shared' ? `SELECT pg_advisory_xact_lock_shared(hashtext($1))` : `SELECT pg_advisory_xact_lock(hashtext($1))`, [key]);
}

/**
 * The SQL expression that takes the exclusive transaction-level lock named by the parameter
 * `param` (e.g. `$4`, bound to a LockKey), for a statement that takes it together with other work
 * (one round trip): `SELECT ..., ${advisoryLockSql('$4')} FROM ...` takes it once per row.
 */
export const advisoryLockSql = (param: string): string => `pg_advisory_xact_lock(hashtext(${param}))`;

/**
 * Tries a session-level advisory lock on the runner's own connection (held until unlocked or the
 * connection ends, across transactions): for work that one replica at a time does in several
 * transactions, e.g. a periodic pass. Release it with `advisorySessionUnlock` on the same runner.
 */
export async function tryAdvisorySessionLock(runner: { query(sql: string, parameters?: unknown[]): Promise<unknown> }, key: LockKey): Promise<boolean> {
  const [row] = (await runner.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [key])) as { locked: boolean }[];
  return row?.locked === true;
}

export async function advisorySessionUnlock(runner: { query(sql: string, parameters?: unknown[]): Promise<unknown> }, key: LockKey): Promise<void> {
  await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [key]);
}
