import type { DataSource, EntityManager } from 'typeorm';

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
): Promise<boolean> {
  return dataSource.transaction(async (manager) => {
    const inserted: unknown[] = await manager.query(
      `INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING message_id`,
      [consumer, messageId],
    );
    if (inserted.length === 0) return false;
    await effect(manager);
    return true;
  });
}
