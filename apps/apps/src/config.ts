import { resolve } from 'node:path';
import {
  checkKubernetesRuntime,
  checkNatsCredentials,
  envVars,
  kubernetesRuntimeSettings,
  kubernetesRuntimeVars,
  natsCredentials,
  loadConfigOrExit,
  parseEnv,
  processRuntimeSettings,
  processRuntimeVars,
} from '@launchpad/config';
import { APP_CALLER_SECRET_MIN_LENGTH } from '@launchpad/contracts';
import { z } from 'zod';

const MINUTE = 60_000;

const schema = z
  .object({
    PORT: envVars.port(3003),
    LISTEN_HOST: z.string().min(1).default('0.0.0.0'),
    APPS_CALLER_SECRET: z
      .string({ message: 'required: the secret the gateway signs callers with (the same value as its APPS_CALLER_SECRET; npm start generates one)' })
      .min(APP_CALLER_SECRET_MIN_LENGTH, { message: `must be at least ${APP_CALLER_SECRET_MIN_LENGTH} characters, the same value as the gateway's` }),
    DATABASE_URL: envVars.databaseUrl,
    NATS_URL: envVars.natsUrl,
    NATS_USER: envVars.natsSecret,
    NATS_PASSWORD: envVars.natsSecret,
    NATS_TOKEN: envVars.natsSecret,
    NATS_CREDS: envVars.natsSecret,
    LOG_LEVEL: envVars.logLevel,
    RUN_MIGRATIONS: envVars.boolean(true),
    OUTBOX_POLL_INTERVAL_MS: envVars.durationMs(1000),
    RPC_TIMEOUT_MS: envVars.durationMs(5000),
    APP_RUNTIME: z.enum(['process', 'kubernetes'], { message: 'must be "process" or "kubernetes"' }).default('process'),
    RUNTIME_DATA_DIR: z.string().min(1).default('.launchpad/runtime/apps'),
    RUNTIME_READINESS_TIMEOUT_MS: envVars.durationMs(120_000),
    RUNTIME_MULTI_USER: envVars.boolean(false),
    // Disjoint from the sessions service's default range: both may run on one machine.
    RUNTIME_UID_RANGE: envVars.uidRange('200000-299999'),
    RUNTIME_MAX_PROCESSES: processRuntimeVars.maxProcesses,
    RUNTIME_MAX_OPEN_FILES: processRuntimeVars.maxOpenFiles,
    RUNTIME_SPEC_HASH_KEY: processRuntimeVars.specHashKey,
    RUNTIME_BLOCKED_PORTS: processRuntimeVars.blockedPorts,
    RUNTIME_HIDDEN_PATHS: processRuntimeVars.hiddenPaths,
    REPOSITORY_HOSTS: envVars.hostList,
    ALLOW_FILE_REPOSITORIES: envVars.boolean(false),
    LEADER_ELECTION_INTERVAL_MS: envVars.durationMs(2000),
    APP_RECONCILE_INTERVAL_MS: envVars.durationMs(5000),
    APP_SCALER_TICK_MS: envVars.durationMs(1000),
    APP_STABLE_WINDOW_MS: envVars.durationMs(60_000),
    APP_PANIC_WINDOW_MS: envVars.durationMs(6000),
    APP_PANIC_THRESHOLD: z.coerce.number().min(1, { message: 'must be at least 1 (2 panics at twice the capacity)' }).default(2),
    APP_IDLE_GRACE_MS: envVars.durationMs(5 * MINUTE),
    APP_DRAIN_MS: envVars.durationMs(10_000),
    APP_DRAIN_MAX_MS: envVars.durationMs(300_000),
    APP_PROCFILE_TIMEOUT_MS: envVars.durationMs(60_000),
    APP_CRASH_LIMIT: z.coerce.number().int().min(1, { message: 'must be at least 1' }).default(5),
    APP_CRASH_WINDOW_MS: envVars.durationMs(60_000),
    APP_RESTART_BACKOFF_MS: envVars.durationMs(1000),
    ACTIVATOR_QUEUE_LIMIT: z.coerce.number().int().min(1).default(1000),
    ACTIVATOR_WAKE_TIMEOUT_MS: envVars.durationMs(60_000),
    ACTIVATOR_REPORT_INTERVAL_MS: envVars.durationMs(1000),
    ACTIVATOR_ROUTE_REFRESH_MS: envVars.durationMs(5000),
    // The kubernetes runtime (APP_RUNTIME=kubernetes); see docs/configuration.md.
    ...kubernetesRuntimeVars,
  })
  .superRefine((env, ctx) => {
    checkNatsCredentials(env, ctx);
    if (env.APP_RUNTIME === 'kubernetes') checkKubernetesRuntime('APP_RUNTIME', env, 'apps', ctx);
    // A replica taken out of rotation must outlive the activators' old copies of the route (a lost
    // broadcast is made good by the next read of every route) and their last report about it.
    const heard = env.ACTIVATOR_ROUTE_REFRESH_MS + env.ACTIVATOR_REPORT_INTERVAL_MS;
    if (env.APP_DRAIN_MS <= heard) {
      ctx.addIssue({
        code: 'custom',
        path: ['APP_DRAIN_MS'],
        message: `must be longer than ACTIVATOR_ROUTE_REFRESH_MS + ACTIVATOR_REPORT_INTERVAL_MS (${env.ACTIVATOR_ROUTE_REFRESH_MS} + ${env.ACTIVATOR_REPORT_INTERVAL_MS} = ${heard}), so that every activator has stopped sending requests to a replica before it stops`,
      });
    }
    if (env.APP_DRAIN_MAX_MS < env.APP_DRAIN_MS) {
      ctx.addIssue({ code: 'custom', path: ['APP_DRAIN_MAX_MS'], message: `must not be shorter than APP_DRAIN_MS (${env.APP_DRAIN_MS})` });
    }
    if (env.APP_PANIC_WINDOW_MS > env.APP_STABLE_WINDOW_MS) {
      ctx.addIssue({ code: 'custom', path: ['APP_PANIC_WINDOW_MS'], message: `must not be longer than APP_STABLE_WINDOW_MS (${env.APP_STABLE_WINDOW_MS})` });
    }
  });

export function loadAppsConfig(env: NodeJS.ProcessEnv = process.env) {
  return appsConfigFrom(loadConfigOrExit('apps', schema, env));
}

/** The same, throwing a ConfigError that lists every problem (for tests). */
export const parseAppsConfig = (env: NodeJS.ProcessEnv) => appsConfigFrom(parseEnv('apps', schema, env));

function appsConfigFrom(e: z.output<typeof schema>) {
  return {
    http: { port: e.PORT, host: e.LISTEN_HOST },
    database: { url: e.DATABASE_URL, schema: 'apps', runMigrations: e.RUN_MIGRATIONS },
    nats: { url: e.NATS_URL, credentials: natsCredentials(e) },
    logLevel: e.LOG_LEVEL,
    outbox: { pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS },
    rpcTimeoutMs: e.RPC_TIMEOUT_MS,
    runtime: { kind: e.APP_RUNTIME, dataDir: resolve(e.RUNTIME_DATA_DIR), readinessTimeoutMs: e.RUNTIME_READINESS_TIMEOUT_MS, ...processRuntimeSettings(e) },
    kubernetes: kubernetesRuntimeSettings(e),
    leaderElectionIntervalMs: e.LEADER_ELECTION_INTERVAL_MS,
    replicas: {
      reconcileIntervalMs: e.APP_RECONCILE_INTERVAL_MS,
      drainMs: e.APP_DRAIN_MS,
      drainMaxMs: e.APP_DRAIN_MAX_MS,
      crashes: { limit: e.APP_CRASH_LIMIT, windowMs: e.APP_CRASH_WINDOW_MS, backoffMs: e.APP_RESTART_BACKOFF_MS },
      procfileTimeoutMs: e.APP_PROCFILE_TIMEOUT_MS,
    },
    scaler: {
      tickMs: e.APP_SCALER_TICK_MS,
      stableWindowMs: e.APP_STABLE_WINDOW_MS,
      panicWindowMs: e.APP_PANIC_WINDOW_MS,
      panicThreshold: e.APP_PANIC_THRESHOLD,
      idleGraceMs: e.APP_IDLE_GRACE_MS,
    },
    activator: {
      queueLimit: e.ACTIVATOR_QUEUE_LIMIT,
      wakeTimeoutMs: e.ACTIVATOR_WAKE_TIMEOUT_MS,
      reportIntervalMs: e.ACTIVATOR_REPORT_INTERVAL_MS,
      routeRefreshMs: e.ACTIVATOR_ROUTE_REFRESH_MS,
      /** Shared with the gateway: only a caller it signed is anyone (see verifyCaller). */
      callerSecret: e.APPS_CALLER_SECRET,
    },
  };
}
export type AppsConfig = ReturnType<typeof loadAppsConfig>;

export const APPS_CONFIG = Symbol('APPS_CONFIG');
export const APP_RUNTIME = Symbol('APP_RUNTIME');
