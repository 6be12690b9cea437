import { checkNatsCredentials, envVars, natsCredentials, loadConfigOrExit } from '@launchpad/config';
import { imageReferenceSchema } from '@launchpad/contracts';
import { parseSecretKeys } from '@launchpad/persistence';
import { z } from 'zod';

const schema = z.object({
  PORT: envVars.port(3001),
  DATABASE_URL: envVars.databaseUrl,
  NATS_URL: envVars.natsUrl,
  NATS_USER: envVars.natsSecret,
  NATS_PASSWORD: envVars.natsSecret,
  NATS_TOKEN: envVars.natsSecret,
  NATS_CREDS: envVars.natsSecret,
  LOG_LEVEL: envVars.logLevel,
  RUN_MIGRATIONS: envVars.boolean(true),
  OUTBOX_POLL_INTERVAL_MS: envVars.durationMs(1000),
  // Each launcher is a row every service keeps a copy of: a project cannot make them without end.
  // The runtimes' repository policy (the sessions and apps services read the same variables):
  // a project's repositories are refused when written, by the same rule the clone applies.
  REPOSITORY_HOSTS: envVars.hostList,
  ALLOW_FILE_REPOSITORIES: envVars.boolean(false),
  LAUNCHERS_PER_PROJECT: z.coerce.number().int().min(1).max(10_000).default(50),
  DEFAULT_ENVIRONMENT_IMAGE: imageReferenceSchema.default('quay.io/jupyter/minimal-notebook:python-3.12'),
  // Optional: without it, launchers cannot have secret variables (and say so).
  SECRETS_ENCRYPTION_KEYS: z.string().optional().superRefine((value, ctx) => {
    const parsed = parseSecretKeys(value);
    if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
  }),
}).superRefine(checkNatsCredentials);

export function loadEnvironmentsConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = loadConfigOrExit('environments', schema, env);
  return {
    http: { port: e.PORT },
    database: { url: e.DATABASE_URL, schema: 'environments', runMigrations: e.RUN_MIGRATIONS },
    nats: { url: e.NATS_URL, credentials: natsCredentials(e) },
    logLevel: e.LOG_LEVEL,
    outbox: { pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS },
    defaultEnvironmentImage: e.DEFAULT_ENVIRONMENT_IMAGE,
    repositoryPolicy: { hosts: e.REPOSITORY_HOSTS, allowFile: e.ALLOW_FILE_REPOSITORIES },
    limits: { launchers: { perProject: e.LAUNCHERS_PER_PROJECT } },
    secretKeys: (() => {
      const parsed = parseSecretKeys(e.SECRETS_ENCRYPTION_KEYS);
      return 'keys' in parsed ? parsed.keys : [];
    })(),
  };
}
export type EnvironmentsConfig = ReturnType<typeof loadEnvironmentsConfig>;
