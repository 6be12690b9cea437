import type { Logger } from '@nestjs/common';
import { envVars, loadConfigOrExit } from '@launchpad/config';
import { createLogger } from '@launchpad/telemetry';
import { z } from 'zod';
import { createServiceDataSource, initializeWithRetry, migrate, type ServiceDataSourceOptions } from './data-source.js';

/**
 * The body of each service's `migrate.js`: migrates the service's schema and exits, 0 when done.
 * In a cluster the migrations Job (deploy/k8s/base/migrations-job.yaml) runs it once per release,
 * with a database role that may change the schema, so the services themselves need not
 * (RUN_MIGRATIONS=false there). It reads DATABASE_URL only.
 */
export async function runMigrationsCommand(options: Omit<ServiceDataSourceOptions, 'url'>): Promise<void> {
  const env = loadConfigOrExit(`${options.schema} migrations`, z.object({ DATABASE_URL: envVars.databaseUrl }));
  // JSON lines (pino), as the services log: a Job's output goes to the same log pipeline.
  const pinoLogger = createLogger(`${options.schema}-migrations`);
  const logger = { log: (msg: string) => pinoLogger.info(msg), warn: (msg: string) => pinoLogger.warn(msg) } as unknown as Logger;
  const dataSource = createServiceDataSource({ ...options, url: env.DATABASE_URL, poolSize: 2 }) // migrate() holds one connection for its lock, the migrations use another;
  try {
    await initializeWithRetry(dataSource, env.DATABASE_URL, logger);
    const applied = await migrate(dataSource, options.schema, logger);
    logger.log(`schema ${options.schema}: ${applied.length === 0 ? 'up to date' : `applied ${applied.length} migration(s)`}`);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}
