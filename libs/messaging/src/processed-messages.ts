import { advisoryLockSql, type LockKey } from '@launchpad/persistence';
import type { DataSource, EntityManager } from 'typeorm';

export interface ApplyOnceOptions {
  /**
   * The advisory lock the effect would take first, taken in the processed-message row's own
   * statement instead (one round trip fewer), after the row: only when the message is new.
   */
  lock?: LockKey;
}

/**
 * Applies a message's effect exactly once per consumer: the processed-message row and the effect
 * commit in one transaction, so a redelivery (after a crash before the ack) finds the row and
 * does nothing. Returns false when the message had been applied already.
 */
export async function applyOnce(
  dataSource: DataSource,
  consumer: string,
  messageId: string,
  effect: (manager: EntityManager) => Promise<void>,
  options: ApplyOnceOptions = {},
): Promise<boolean> {
  return dataSource.transaction(async (manager) => {
    const inserted: unknown[] = await manager.query(
      options.lock === undefined
        ? `INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING message_id`
        : `WITH p AS (INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING message_id)
           SELECT message_id, ${advisoryLockSql('$3')} FROM p`,
      options.lock === undefined ? [consumer, messageId] : [consumer, messageId, options.lock],
    );
    if (inserted.length === 0) return false;
    await effect(manager);
    return true;
  });
}
