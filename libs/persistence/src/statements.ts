import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';

/** One SQL statement and its parameters ($1, $2, ...). */
export interface Statement {
  sql: string;
  params: unknown[];
}

/**
 * A statement Postgres keeps parsed and planned on each connection (a named prepared statement),
 * named after its text: the first run on a connection parses it, later runs only bind and
 * execute. For the hot path's few statements, whose parse and plan cost Postgres more than their
 * execution (a CTE of several writes: ~0.55 ms of its CPU unnamed, ~0.25 ms named). Only for
 * texts the code writes (a handful of shapes), never one with values written into it: each
 * distinct text stays prepared on every connection for its lifetime.
 */
export interface PreparedSql {
  readonly name: string;
  readonly text: string;
}

/** A statement's text, or that text prepared. */
export type Sql = string | PreparedSql;

const preparedByText = new Map<string, PreparedSql>();

/** The text as a named prepared statement (see PreparedSql); the same text, the same name. */
export function prepared(text: string): PreparedSql {
  let found = preparedByText.get(text);
  if (found === undefined) {
    // Bounded whatever a caller does; the name is the text's, so forgetting it costs only a hash.
    if (preparedByText.size >= 512) preparedByText.clear();
    found = { name: `lp_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`, text };
    preparedByText.set(text, found);
  }
  return found;
}

const textOf = (sql: Sql): string => (typeof sql === 'string' ? sql : sql.text);

interface PgQueryable {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/** A text as pg's query(text, values), which copies nothing; a prepared statement as the config object that names it. */
const runOn = (target: PgQueryable, sql: Sql, params: unknown[]) =>
  typeof sql === 'string' ? target.query(sql, params) : target.query({ name: sql.name, text: sql.text, values: params });

/**
 * One statement on the manager's own connection (its transaction's), its rows as pg answers them:
 * as readRows, but inside the caller's transaction, and able to run a prepared statement, which
 * TypeORM's query() cannot. Errors are pg's. A manager without a pg connection of its own (no
 * transaction) goes through TypeORM.
 */
export async function queryRows<T>(manager: EntityManager, sql: Sql, params: unknown[] = []): Promise<T[]> {
  const connection = (manager.queryRunner as unknown as { databaseConnection?: PgQueryable } | undefined)?.databaseConnection;
  if (!manager.queryRunner?.isTransactionActive || !connection || typeof connection.query !== 'function') return (await manager.query(textOf(sql), params)) as T[];
  return (await runOn(connection, sql, params)).rows as T[];
}

/**
 * Runs independent data-modifying statements as one: each becomes an item of a single WITH, so
 * they cost one round trip and one plan instead of one each, and succeed or fail together.
 * Postgres runs every data-modifying WITH item once, referenced or not; all of them see the same
 * snapshot and none sees another's effects, so they must not depend on each other (and must not
 * change the same row: Postgres refuses that). Parameters are renumbered: the statements must not
 * hold `$<n>` other than as parameters (no dollar-quoted text).
 */
export async function runTogether(manager: EntityManager, statements: readonly Statement[], options: { prepare?: boolean } = {}): Promise<void> {
  if (statements.length === 0) return;
  // Prepared, on the transaction's own connection (queryRows); else through TypeORM as ever.
  const run = (sql: string, params: unknown[]) => (options.prepare ? queryRows(manager, prepared(sql), params) : manager.query(sql, params));
  if (statements.length === 1) {
    await run(statements[0].sql, statements[0].params);
    return;
  }
  const params: unknown[] = [];
  const items = statements.map((statement, i) => {
    const offset = params.length;
    params.push(...statement.params);
    return `w${i} AS (${shiftParams(statement.sql, offset)})`;
  });
  await run(`WITH ${items.join(',\n')} SELECT 1`, params);
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

/**
 * A read on the data source's own pg pool, outside any transaction: one statement, its rows as pg
 * answers them (columns by name, pg's types). Not through `dataSource.query`, whose query runner
 * (a connect and release of its own, subscriber broadcasts before and after, a result object) cost
 * as much CPU as the hottest reads' own work. Errors are pg's (their `code` is the SQL state, as
 * sqlStateOf and isConnectionError read it). A data source without a pg pool goes through TypeORM.
 */
export async function readRows<T>(dataSource: DataSource, sql: Sql, params: unknown[] = []): Promise<T[]> {
  const pool = (dataSource.driver as unknown as { master?: PgQueryable }).master;
  if (!pool || typeof pool.query !== 'function') return (await dataSource.query(textOf(sql), params)) as T[];
  return (await runOn(pool, sql, params)).rows as T[];
}

/**
 * One statement on the pool as readRows runs it, for a write that needs no transaction but its
 * own (Postgres commits it alone): its RETURNING or SELECT rows.
 */
export const runAlone: <T>(dataSource: DataSource, sql: Sql, params?: unknown[]) => Promise<T[]> = readRows;

/** A pg client of the data source's pool, as `withPoolClient` lends it. */
export interface PoolClient {
  /** With several statements and no parameters (the simple protocol), pg answers one result per statement. */
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] } | { rows: unknown[] }[]>;
}

interface LendingPool {
  connect(): Promise<PoolClient & { release(destroy?: boolean | Error): void; on(event: 'error', listener: (error: Error) => void): unknown; off(event: 'error', listener: (error: Error) => void): unknown }>;
}

/**
 * Lends `work` one connection of the data source's pg pool, for a loop that sends several
 * statements in one round trip (`BEGIN; SELECT ...`), which TypeORM's query runner cannot.
 * A connection that failed mid-way (`work` threw) is destroyed rather than handed back: it may
 * still be inside the transaction `work` began; so is one Postgres ended meanwhile. A data source without a pg pool cannot lend one.
 */
export async function withPoolClient<T>(dataSource: DataSource, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const pool = (dataSource.driver as unknown as { master?: LendingPool }).master;
  if (!pool || typeof pool.connect !== 'function') throw new Error('withPoolClient needs a data source on a pg pool (the postgres driver)');
  const client = await pool.connect();
  // A lent client has no listener of the pool's: Postgres ending the connection between two of
  // work's statements (a restart, a failover, pg_terminate_backend) would be an 'error' event with
  // none, which ends the process. Kept here instead; work's next statement fails on it.
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  try {
    const result = await work(client);
    client.release(broken);
    return result;
  } catch (error) {
    client.release(true);
    throw error;
  } finally {
    client.off('error', onError);
  }
}
