import { envVars, loadConfigOrExit } from '@launchpad/config';
import { imageReferenceSchema } from '@launchpad/contracts';
import { z } from 'zod';

const schema = z.object({
  PORT: envVars.port(3001),
  DATABASE_URL: envVars.databaseUrl,
  NATS_URL: envVars.natsUrl,
  LOG_LEVEL: envVars.logLevel,
  RUN_MIGRATIONS: envVars.boolean(true),
  OUTBOX_POLL_INTERVAL_MS: envVars.durationMs(1000),
  DEFAULT_ENVIRONMENT_IMAGE: imageReferenceSchema.default('quay.io/jupyter/minimal-notebook:python-3.12'),
});

export function loadEnvironmentsConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = loadConfigOrExit('environments', schema, env);
  return {
    http: { port: e.PORT },
    database: { url: e.DATABASE_URL, schema: 'environments', runMigrations: e.RUN_MIGRATIONS },
    nats: { url: e.NATS_URL },
    logLevel: e.LOG_LEVEL,
    outbox: { pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS },
    defaultEnvironmentImage: e.DEFAULT_ENVIRONMENT_IMAGE,
  };
}
export type EnvironmentsConfig = ReturnType<typeof loadEnvironmentsConfig>;
