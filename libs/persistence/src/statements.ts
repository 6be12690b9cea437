import type { DataSource, EntityManager } from 'typeorm';

/** One SQL statement and its parameters ($1, $2, ...). */
export interface Statement {
  sql: string;
  params: unknown[];
}

/**
 * Runs independent data-modifying statements as one: each becomes an item of a single WITH, so
 * they cost one round trip and one plan instead of one each, and succeed or fail together.
 * Postgres runs every data-modifying WITH item once, referenced or not; all of them see the same
 * snapshot and none sees another's effects, so they must not depend on each other (and must not
 * change the same row: Postgres refuses that). Parameters are renumbered: the statements must not
 * hold `$<n>` other than as parameters (no dollar-quoted text).
 */
export async function runTogether(manager: EntityManager, statements: readonly Statement[]): Promise<void> {
  if (statements.length === 0) return;
  if (statements.length === 1) {
    await manager.query(statements[0].sql, statements[0].params);
    return;
  }
  const params: unknown[] = [];
  const items = statements.map((statement, i) => {
    const offset = params.length;
    params.push(...statement.params);
    return `w${i} AS (${shiftParams(statement.sql, offset)})`;
  });
  await manager.query(`WITH ${items.join(',\n')} SELECT 1`, params);
}

/** The SQL with each parameter `$<n>` renamed `$<n + offset>`, for a statement whose parameters follow others' (no dollar-quoted text). */
export function shiftParams(sql: string, offset: number): string {
  return offset === 0 ? sql : sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
}

/**
 * INSERTs a new entity the way `save` would leave it (its nullable columns left unset read as
 * null, as they will from the table), without `save`'s SELECT first: the caller knows it is new.
 */
export async function insertNew<T extends object>(manager: EntityManager, target: new () => T, entity: T): Promise<T> {
  await manager.insert(target, entity as never);
  for (const column of manager.connection.getMetadata(target).columns) {
    if (column.isNullable && !column.isVirtual && column.getEntityValue(entity) === undefined) column.setEntityValue(entity, null);
  }
  return entity;
}

/**
 * UPDATEs every column of an entity the caller has read (and locked) in this transaction, from
 * what it holds now: what `save` would write, without `save`'s SELECT of the row first.
 */
export async function updateWhole<T extends object>(manager: EntityManager, target: new () => T, entity: T): Promise<void> {
  const { sql, params } = updateWholeStatement(manager, target, entity);
  await manager.query(sql, params);
}

/** The UPDATE `updateWhole` runs, for a caller that runs it with its other writes in one statement (`runTogether`). */
export function updateWholeStatement<T extends object>(manager: EntityManager, target: new () => T, entity: T): Statement {
  const metadata = manager.connection.getMetadata(target);
  const values: Record<string, unknown> = {};
  for (const column of metadata.columns) {
    if (column.isPrimary || column.isVirtual || column.isGenerated) continue;
    const value = column.getEntityValue(entity);
    if (value !== undefined) values[column.propertyPath] = value;
  }
  const where = Object.fromEntries(metadata.primaryColumns.map((column) => [column.propertyPath, column.getEntityValue(entity)]));
  const [sql, params] = manager.createQueryBuilder().update(target).set(values as never).where(where).updateEntity(false).getQueryAndParameters();
  return { sql, params };
}

interface RowPool {
  query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * A read on the data source's own pg pool, outside any transaction: one statement, its rows as pg
 * answers them (columns by name, pg's types). Not through `dataSource.query`, whose query runner
 * (a connect and release of its own, subscriber broadcasts before and after, a result object) cost
 * as much CPU as the hottest reads' own work. Errors are pg's (their `code` is the SQL state, as
 * sqlStateOf and isConnectionError read it). A data source without a pg pool goes through TypeORM.
 */
export async function readRows<T>(dataSource: DataSource, sql: string, params: unknown[] = []): Promise<T[]> {
  const pool = (dataSource.driver as unknown as { master?: RowPool }).master;
  if (!pool || typeof pool.query !== 'function') return (await dataSource.query(sql, params)) as T[];
  return (await pool.query(sql, params)).rows as T[];
}

/**
 * One statement on the pool as readRows runs it, for a write that needs no transaction but its
 * own (Postgres commits it alone): its RETURNING or SELECT rows.
 */
export const runAlone: <T>(dataSource: DataSource, sql: string, params?: unknown[]) => Promise<T[]> = readRows;
