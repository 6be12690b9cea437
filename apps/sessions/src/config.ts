import { resolve } from 'node:path';
import { checkKubernetesRuntime, checkNatsCredentials, envVars, kubernetesRuntimeSettings, kubernetesRuntimeVars, natsCredentials, loadConfigOrExit, processRuntimeSettings, processRuntimeVars } from '@launchpad/config';
import { parseSecretKeys } from '@launchpad/persistence';
import { z } from 'zod';

const MINUTE = 60_000;

const schema = z.object({
  PORT: envVars.port(3002),
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
  SESSION_RUNTIME: z.enum(['process', 'kubernetes'], { message: 'must be "process" or "kubernetes"' }).default('process'),
  RUNTIME_DATA_DIR: z.string().min(1).default('.launchpad/runtime/sessions'),
  RUNTIME_READINESS_TIMEOUT_MS: envVars.durationMs(120_000),
  RUNTIME_MULTI_USER: envVars.boolean(false),
  // Disjoint from the apps service's default range: both may run on one machine.
  RUNTIME_UID_RANGE: envVars.uidRange('100000-199999'),
  RUNTIME_MAX_PROCESSES: processRuntimeVars.maxProcesses,
  RUNTIME_MAX_OPEN_FILES: processRuntimeVars.maxOpenFiles,
  RUNTIME_SPEC_HASH_KEY: processRuntimeVars.specHashKey,
  RUNTIME_BLOCKED_PORTS: processRuntimeVars.blockedPorts,
  RUNTIME_HIDDEN_PATHS: processRuntimeVars.hiddenPaths,
  REPOSITORY_HOSTS: envVars.hostList,
  ALLOW_FILE_REPOSITORIES: envVars.boolean(false),
  RECONCILE_INTERVAL_MS: envVars.durationMs(5000),
  LEADER_ELECTION_INTERVAL_MS: envVars.durationMs(2000),
  SESSION_IDLE_TIMEOUT_MS: envVars.durationMs(60 * MINUTE),
  SESSION_HIBERNATED_TTL_MS: envVars.durationMs(14 * 24 * 60 * MINUTE),
  SESSION_DISK_CHECK_INTERVAL_MS: envVars.durationMs(MINUTE),
  SESSION_HIBERNATION_WARNING_MS: envVars.durationMs(5 * MINUTE),
  DEFAULT_POOL_QUOTA_CPU: z.coerce.number().positive().default(16),
  DEFAULT_POOL_QUOTA_MEMORY_GB: z.coerce.number().positive().default(64),
  // One user may not take a whole pool: a pool's maxSessionsPerUser overrides it.
  SESSIONS_PER_USER_PER_POOL: z.coerce.number().int().min(1).max(10_000).default(10),
  // Optional: without it, sessions with secret variables are refused (and say why).
  SECRETS_ENCRYPTION_KEYS: z.string().optional().superRefine((value, ctx) => {
    const parsed = parseSecretKeys(value);
    if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
  }),
  // The kubernetes runtime (SESSION_RUNTIME=kubernetes); see docs/configuration.md.
  ...kubernetesRuntimeVars,
}).superRefine((env, ctx) => {
  checkNatsCredentials(env, ctx);
  if (env.SESSION_RUNTIME === 'kubernetes') checkKubernetesRuntime('SESSION_RUNTIME', env, 'sessions', ctx);
});

export function loadSessionsConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = loadConfigOrExit('sessions', schema, env);
  return {
    http: { port: e.PORT },
    database: { url: e.DATABASE_URL, schema: 'sessions', runMigrations: e.RUN_MIGRATIONS },
    nats: { url: e.NATS_URL, credentials: natsCredentials(e) },
    logLevel: e.LOG_LEVEL,
    outbox: { pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS },
    rpcTimeoutMs: e.RPC_TIMEOUT_MS,
    runtime: { kind: e.SESSION_RUNTIME, dataDir: resolve(e.RUNTIME_DATA_DIR), readinessTimeoutMs: e.RUNTIME_READINESS_TIMEOUT_MS, ...processRuntimeSettings(e) },
    kubernetes: kubernetesRuntimeSettings(e),
    reconciler: { intervalMs: e.RECONCILE_INTERVAL_MS, leaderElectionIntervalMs: e.LEADER_ELECTION_INTERVAL_MS },
    culling: { idleTimeoutMs: e.SESSION_IDLE_TIMEOUT_MS, hibernatedTtlMs: e.SESSION_HIBERNATED_TTL_MS, warningMs: e.SESSION_HIBERNATION_WARNING_MS },
    disk: { checkIntervalMs: e.SESSION_DISK_CHECK_INTERVAL_MS },
    limits: { sessionsPerUserPerPool: e.SESSIONS_PER_USER_PER_POOL },
    defaultPool: { cpu: e.DEFAULT_POOL_QUOTA_CPU, memoryGb: e.DEFAULT_POOL_QUOTA_MEMORY_GB },
    secretKeys: (() => {
      const parsed = parseSecretKeys(e.SECRETS_ENCRYPTION_KEYS);
      return 'keys' in parsed ? parsed.keys : [];
    })(),
  };
}
export type SessionsConfig = ReturnType<typeof loadSessionsConfig>;
