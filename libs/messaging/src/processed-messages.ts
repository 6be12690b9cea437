import { advisoryLockSql, type LockKey, prepared, type PreparedSql, runAlone, shiftParams, type Statement } from '@launchpad/persistence';
import type { DataSource, EntityManager } from 'typeorm';

export interface ApplyOnceOptions {
  /**
   * The advisory lock the effect would take first, taken in the processed-message row's own
   * statement instead (one round trip fewer), before the row (locks come before rows), so that a
   * message seen twice at once is decided by whoever holds the lock.
   */
  lock?: LockKey;
}

/** The processed-message row's INSERT ($1 consumer, $2 message id), after the lock in `$3` when there is one. */
const insertProcessed = (lock: boolean) =>
  lock
    ? `WITH l AS (SELECT ${advisoryLockSql('$3')})
       INSERT INTO processed_messages (consumer, message_id) SELECT $1::text, $2::text FROM l ON CONFLICT DO NOTHING RETURNING message_id`
    : `INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING message_id`;

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
      insertProcessed(options.lock !== undefined),
      options.lock === undefined ? [consumer, messageId] : [consumer, messageId, options.lock],
    );
    if (inserted.length === 0) return false;
    await effect(manager);
    return true;
  });
}

export interface OneStatementEffect {
  /**
   * The effect: one data-modifying statement that reads its rows `FROM processed`, which holds
   * one row when the message is new and none when it was applied before. Its own parameters are
   * `$1`, `$2`, ...: they are renumbered.
   */
  effect: Statement;
  /** The lock the effect needs, taken first. */
  lock?: LockKey;
  /**
   * A boolean SQL expression read once the lock is held; when true, nothing is written (not even
   * the processed-message row) and the answer is 'declined', for the caller to apply the message
   * its longer way. It reads as of the statement's start unless it calls a VOLATILE function,
   * whose queries see what committed while the lock was awaited.
   */
  unless?: Statement;
}

/**
 * applyOnce for a message whose effect is one statement: the lock, the processed-message row and
 * the effect in a single statement, which Postgres commits on its own (no BEGIN, no COMMIT, one
 * round trip). 'applied', 'duplicate' (applied before), or 'declined' (see `unless`).
 */
export async function applyOnceInOneStatement(
  dataSource: DataSource,
  consumer: string,
  messageId: string,
  { effect, lock, unless }: OneStatementEffect,
): Promise<'applied' | 'duplicate' | 'declined'> {
  const params: unknown[] = [consumer, messageId];
  if (lock !== undefined) params.push(lock);
  if (unless !== undefined) params.push(...unless.params);
  params.push(...effect.params);
  const [row] = await runAlone<{ declined: boolean; fresh: boolean }>(dataSource, oneStatementSql(lock !== undefined, unless, effect), params);
  return row.declined ? 'declined' : row.fresh ? 'applied' : 'duplicate';
}

/**
 * The statements by their shape: a consumer sends the same few on every message (renumbering them
 * is a regex over each), prepared (parsing and planning them cost Postgres more than running them).
 */
const oneStatementSqls = new Map<string, PreparedSql>();

function oneStatementSql(locked: boolean, unless: Statement | undefined, effect: Statement): PreparedSql {
  const key = `${locked}\0${unless?.params.length ?? -1}\0${unless?.sql ?? ''}\0${effect.sql}`;
  let sql = oneStatementSqls.get(key);
  if (sql !== undefined) return sql;
  let count = 2;
  const items: string[] = [];
  let source = '';
  if (locked) {
    count++;
    items.push(`l AS (SELECT ${advisoryLockSql('$3')})`);
    source = ' FROM l';
  }
  if (unless !== undefined) {
    items.push(`g AS (SELECT (${shiftParams(unless.sql, count)}) AS declined${source})`);
    count += unless.params.length;
    source = ' FROM g WHERE NOT g.declined';
  }
  items.push(
    source === ''
      ? `processed AS (INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING message_id)`
      : `processed AS (INSERT INTO processed_messages (consumer, message_id) SELECT $1::text, $2::text${source} ON CONFLICT DO NOTHING RETURNING message_id)`,
  );
  items.push(`e AS (${shiftParams(effect.sql, count)})`);
  sql = prepared(`WITH ${items.join(',\n')}
     SELECT ${unless !== undefined ? '(SELECT declined FROM g)' : 'false'} AS declined, EXISTS (SELECT 1 FROM processed) AS fresh`);
  // Bounded, whatever a caller builds: the shapes are the code's own, a handful.
  if (oneStatementSqls.size >= 64) oneStatementSqls.clear();
  oneStatementSqls.set(key, sql);
  return sql;
}
