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
