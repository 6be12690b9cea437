import { checkNatsCredentials, envVars, natsCredentials, loadConfigOrExit } from '@launchpad/config';
import { z } from 'zod';

const schema = z.object({
  PORT: envVars.port(3004),
  DATABASE_URL: envVars.databaseUrl,
  NATS_URL: envVars.natsUrl,
  NATS_USER: envVars.natsSecret,
  NATS_PASSWORD: envVars.natsSecret,
  NATS_TOKEN: envVars.natsSecret,
  NATS_CREDS: envVars.natsSecret,
  LOG_LEVEL: envVars.logLevel,
  RUN_MIGRATIONS: envVars.boolean(true),
  OUTBOX_POLL_INTERVAL_MS: envVars.durationMs(1000),
  GITLAB_URL: z
    .url({ message: 'must be the base URL of your GitLab, e.g. https://gitlab.example.com' })
    .regex(/^https?:\/\//, { message: 'must be an http(s) URL' })
    // The API token travels to it, and repositories are cloned from it: never in plain text over a
    // network. A GitLab on this machine (a loopback host) is development, and may be http.
    .refine((url) => url.startsWith('https://') || isLoopbackUrl(url), {
      message: 'must be https (the API token and clones would otherwise cross the network in plain text); http is accepted only for a GitLab on this machine (localhost, 127.0.0.1, ::1), in development',
    })
    .optional(),
  GITLAB_API_TOKEN: z.string().min(1).optional(),
  GITLAB_SYSTEM_HOOK_TOKEN: z.string().min(16, { message: 'must be at least 16 characters (the Secret token of the GitLab system hook)' }).optional(),
  GITLAB_MEMBER_IDENTITY: z.enum(['username', 'id'], { message: 'must be "username" or "id"' }).default('username'),
  BUILD_REGISTRY: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d{1,5})?(\/[a-z0-9._-]+)*$/, { message: 'must be a registry host with optional port and path, e.g. registry.example.com or localhost:5000/ci' })
    .default('registry.gitlab.com'),
  BUILD_JOB_NAME: z.string().min(1).max(255).default('image_build'),
  BUILD_REPAIR_AFTER_MS: envVars.durationMs(10 * 60 * 1000),
  BUILD_REPAIR_INTERVAL_MS: envVars.durationMs(60 * 1000),
  BUILD_REPAIR_MAX_AGE_MS: envVars.durationMs(7 * 24 * 3600 * 1000),
  WEBHOOK_SECRET_PEPPER: z
    .string()
    .min(32, { message: 'must be at least 32 characters: a random key, e.g. `openssl rand -base64 48`' })
    .optional(),
  WEBHOOK_DELIVERY_RETENTION_MS: envVars.durationMs(30 * 24 * 3600 * 1000),
}).superRefine((e, ctx) => {
  checkNatsCredentials(e, ctx);
  // A token is a credential for one GitLab: never send it to gitlab.com by default.
  if (e.GITLAB_API_TOKEN && !e.GITLAB_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['GITLAB_URL'],
      message: 'required when GITLAB_API_TOKEN is set: the base URL of the GitLab that token belongs to, e.g. https://gitlab.example.com',
    });
  }
});

// Without a token only system-hook repository URLs and payload links use it, and gitlab.com is the usual host.
const gitlabUrlOf = (url: string | undefined) => (url ?? 'https://gitlab.com').replace(/\/+$/, '');

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.toLowerCase();
    return host === 'localhost' || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host) || host === '[::1]';
  } catch {
    return false;
  }
}

/** The variables the builds service reads, for tests of what it accepts. */
export const buildsConfigSchema = schema;

export function loadBuildsConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = loadConfigOrExit('builds', schema, env);
  return {
    http: { port: e.PORT },
    database: { url: e.DATABASE_URL, schema: 'builds', runMigrations: e.RUN_MIGRATIONS },
    nats: { url: e.NATS_URL, credentials: natsCredentials(e) },
    logLevel: e.LOG_LEVEL,
    outbox: { pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS },
    gitlab: {
      url: gitlabUrlOf(e.GITLAB_URL),
      apiToken: e.GITLAB_API_TOKEN,
      systemHookToken: e.GITLAB_SYSTEM_HOOK_TOKEN,
      memberIdentity: e.GITLAB_MEMBER_IDENTITY,
    },
    builds: { registry: e.BUILD_REGISTRY, jobName: e.BUILD_JOB_NAME, gitlabUrl: gitlabUrlOf(e.GITLAB_URL) },
    repair: { afterMs: e.BUILD_REPAIR_AFTER_MS, intervalMs: e.BUILD_REPAIR_INTERVAL_MS, maxAgeMs: e.BUILD_REPAIR_MAX_AGE_MS },
    webhooks: { secretPepper: e.WEBHOOK_SECRET_PEPPER },
    deliveryRetentionMs: e.WEBHOOK_DELIVERY_RETENTION_MS,
  };
}
export type BuildsConfig = ReturnType<typeof loadBuildsConfig>;
export const BUILDS_CONFIG = Symbol('BUILDS_CONFIG');
