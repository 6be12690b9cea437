import { Logger } from '@nestjs/common';
import { DataSource, type MixedList, type EntitySchema } from 'typeorm';

export interface ServiceDataSourceOptions {
  url: string;
  /** The Postgres schema this service owns; every table lives in it. */
  schema: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
  applicationName: string;
  poolSize?: number;
}

export function createServiceDataSource(options: ServiceDataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    entities: options.entities,
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    applicationName: options.applicationName,
    extra: {
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      // Every connection lands in the service's schema, so raw SQL need not qualify names.
      options: `-c search_path=${options.schema},public`,
    },
  });
}

/** Where a database URL points, without its password: what an operator needs in a log line. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'the configured database';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Connects, waiting for Postgres as long as it takes: in a cluster the database may come up after
 * the service, and a crash loop tells an operator less than a line saying what we are waiting for.
 */
export async function initializeWithRetry(dataSource: DataSource, url: string, logger = new Logger('Persistence')): Promise<void> {
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      await dataSource.initialize();
      if (attempt > 1) logger.log(`connected to Postgres at ${describeDatabase(url)} after ${attempt} attempts`);
      return;
    } catch (error) {
      logger.warn(`waiting for Postgres at ${describeDatabase(url)} (attempt ${attempt}): ${(error as Error).message}`);
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/**
 * Creates the schema and runs pending migrations. Several replicas may start at once, so the
 * work is serialised by an advisory lock keyed on the schema.
 */
export async function migrate(dataSource: DataSource, schema: string, logger = new Logger('Migrations')): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext($1))`, [`launchpad:migrations:${schema}`]);
    // Asked first: a service's own role owns its schema (tools/dev/postgres-roles.js) but may not
    // create schemas, and Postgres checks that right even when the schema exists.
    const [{ exists }] = await runner.query(`SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists`, [schema]);
    if (!exists) await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    for (const m of applied) logger.log(`applied migration ${m.name} to schema ${schema}`);
    return applied.map((m) => m.name);
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [`launchpad:migrations:${schema}`]).catch(() => undefined);
    await runner.release();
  }
}

/** True for errors that mean "Postgres is not reachable right now" rather than "your query is wrong". */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; message?: string; driverError?: { code?: string } };
  const code = e?.driverError?.code ?? e?.code ?? '';
  // 53300 too_many_connections: the server is up but takes nobody more, for now (503, try again).
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '53300', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004'].includes(code)) {
    return true;
  }
  // The connection went away inside a transaction (Postgres restarted, pg_terminate_backend):
  // pg reports it as an 'error' event, on which TypeORM releases the transaction's query runner at
  // once, so the use case's next statement hears only this (from the runner, or from its manager).
  // Using a runner after its transaction ended would throw it too, but no code here keeps a
  // manager beyond its transaction.
  if (['QueryRunnerAlreadyReleasedError', 'QueryRunnerProviderAlreadyReleasedError'].includes((error as Error | null)?.name ?? '')) return true;
  const message = e?.message ?? '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}

/** A unique index refused the row; `constraint` narrows it to one index. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e?.driverError?.code ?? e?.code;
  const name = e?.driverError?.constraint ?? e?.constraint;
  return code === '23505' && (constraint === undefined || name === constraint);
}
