import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`${service}: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates a service's flat environment once, listing every bad variable at once, and returns
 * the typed result. Callers turn it into their nested config object.
 */
export function parseEnv<S extends z.ZodType>(service: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const fromFiles = withSecretFiles(env);
  if (fromFiles.problems.length > 0) throw new ConfigError(service, fromFiles.problems);
  env = fromFiles.env;
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.map(String).join('.') || '(environment)';
    const value = typeof issue.path[0] === 'string' ? env[issue.path[0]] : undefined;
    const shown = value === undefined ? 'unset' : `got ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}`;
    return `${name}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(service, problems);
}

/**
 * Secrets a service may read from a file instead of its environment: `<NAME>_FILE` names the file
 * (a mounted Secret, or a file `npm start` writes 0600). A variable's value sits in
 * /proc/<pid>/environ and in every child's environment; a file stays where it is, readable by the
 * service's user only. The file must not be readable by every user of the machine.
 */
export const SECRET_FILE_VARIABLES = [
  'DATABASE_URL',
  'NATS_PASSWORD',
  'NATS_TOKEN',
  'AUTH_DEV_SIGNING_KEY',
  'APPS_CALLER_SECRET',
  'WEBHOOK_SECRET_PEPPER',
  'GITLAB_API_TOKEN',
  'GITLAB_SYSTEM_HOOK_TOKEN',
  'SECRETS_ENCRYPTION_KEYS',
] as const;

function withSecretFiles(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; problems: string[] } {
  const problems: string[] = [];
  const out: NodeJS.ProcessEnv = { ...env };
  for (const name of SECRET_FILE_VARIABLES) {
    const path = env[`${name}_FILE`];
    if (path === undefined || path === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${name}_FILE: set together with ${name}; give the secret one way only`);
      continue;
    }
    try {
      if ((statSync(path).mode & 0o004) !== 0) {
        problems.push(`${name}_FILE: ${path} is readable by every user of this machine; make it readable by this service only (chmod 600)`);
        continue;
      }
      // One trailing newline is the editor's, not the secret's.
      out[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.push(`${name}_FILE: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return { env: out, problems };
}

/** Loads config or exits with a message an operator can act on, before anything else starts. */
export function loadConfigOrExit<S extends z.ZodType>(service: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  try {
    return parseEnv(service, schema, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${JSON.stringify({ level: 'fatal', service, msg: error.message, problems: error.problems })}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** Building blocks shared by every service's schema, so the same variable means the same everywhere. */
export const envVars = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  databaseUrl: z
    .string({ message: 'required: a postgres:// URL' })
    .regex(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// URL, e.g. postgres://postgres@127.0.0.1:5432/launchpad' })
    .default('postgres://postgres@127.0.0.1:5432/launchpad'),
  natsUrl: z
    .string()
    .regex(/^(nats|tls):\/\/[^\s]+$|^[^\s:/]+:\d+(,[^\s:/]+:\d+)*$/, { message: 'must be nats://host:port (comma-separate several)' })
    .default('nats://127.0.0.1:4222'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** NATS_USER, NATS_PASSWORD (or NATS_PASSWORD_FILE), NATS_TOKEN, NATS_CREDS: all optional, see natsCredentials. */
  natsSecret: z.string().min(1, { message: 'must not be empty when set' }).optional(),
  durationMs: (fallback: number) => z.coerce.number().int().min(1).default(fallback),
  /** `first-last`, inclusive, of uids clear of system users: `100000-199999`. */
  uidRange: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((text, ctx) => {
        const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(text);
        const first = Number(match?.[1]);
        const last = Number(match?.[2]);
        if (!match || first < 1000 || last < first || last > 4_294_967_294) {
          ctx.addIssue({ code: 'custom', message: 'must be a range of uids from 1000 up, first-last, e.g. 100000-199999' });
          return z.NEVER;
        }
        return { first, last };
      }),
  /** Comma- or space-separated host names, lower-cased; empty: any host (null). */
  hostList: z
    .string()
    .optional()
    .transform((text) => {
      const hosts = (text ?? '').split(/[\s,]+/).map((h) => h.trim().toLowerCase()).filter(Boolean);
      return hosts.length > 0 ? hosts : null;
    }),
  boolean: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
};

/**
 * The process runtime's containment settings, the same in every service that runs workloads
 * (sessions, apps); each schema lists the variables itself (RUNTIME_MULTI_USER, RUNTIME_UID_RANGE,
 * RUNTIME_MAX_PROCESSES, RUNTIME_MAX_OPEN_FILES, RUNTIME_BLOCKED_PORTS, RUNTIME_HIDDEN_PATHS, REPOSITORY_HOSTS, ALLOW_FILE_REPOSITORIES) with
 * these parts, and hands the parsed values here for the nested form its runtime provider takes.
 */
export const processRuntimeVars = {
  maxProcesses: z.coerce.number().int().min(1).default(512),
  maxOpenFiles: z.coerce.number().int().min(16).default(4096),
  /**
   * RUNTIME_SPEC_HASH_KEY: the key of workloads' spec hashes (a spec holds secret values, so its
   * hash is keyed). Optional for the process runtime (it keeps one in its data directory); required
   * with the kubernetes runtime, the same in every replica of the service.
   */
  specHashKey: z
    .string()
    .optional()
    .refine((v) => v === undefined || (/^[A-Za-z0-9+/]+=*$/.test(v.trim()) && Buffer.from(v, 'base64').length >= 32), {
      message: 'must be base64 of at least 32 random bytes, e.g. the output of `openssl rand -base64 32`',
    })
    .transform((v) => (v === undefined ? undefined : Buffer.from(v, 'base64'))),
  /** RUNTIME_BLOCKED_PORTS: TCP ports of this machine workloads may not connect to, besides Postgres's, NATS's and the service's own. */
  blockedPorts: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const parts = text.split(/[\s,]+/).filter(Boolean);
      const ports = parts.map(Number);
      if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
        ctx.addIssue({ code: 'custom', message: 'must be TCP ports (1-65535), comma-separated, e.g. 3001,3004' });
        return z.NEVER;
      }
      return ports;
    }),
  /** RUNTIME_HIDDEN_PATHS: absolute paths covered in every workload's mount namespace, besides Postgres's socket directories. */
  hiddenPaths: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const paths = text.split(/[\s,]+/).filter(Boolean);
      if (paths.some((p) => !p.startsWith('/') || p === '/')) {
        ctx.addIssue({ code: 'custom', message: 'must be absolute paths other than /, comma-separated, e.g. /run/secrets,/var/lib/private' });
        return z.NEVER;
      }
      return paths;
    }),
};

export function processRuntimeSettings(e: {
  RUNTIME_MULTI_USER: boolean;
  RUNTIME_UID_RANGE: { first: number; last: number };
  RUNTIME_MAX_PROCESSES: number;
  RUNTIME_MAX_OPEN_FILES: number;
  RUNTIME_BLOCKED_PORTS: number[];
  RUNTIME_HIDDEN_PATHS: string[];
  REPOSITORY_HOSTS: string[] | null;
  ALLOW_FILE_REPOSITORIES: boolean;
  RUNTIME_SPEC_HASH_KEY?: Buffer | undefined;
}) {
  return {
    specHashKey: e.RUNTIME_SPEC_HASH_KEY,
    multiUser: e.RUNTIME_MULTI_USER,
    uidRange: e.RUNTIME_UID_RANGE,
    limits: { maxProcesses: e.RUNTIME_MAX_PROCESSES, maxOpenFiles: e.RUNTIME_MAX_OPEN_FILES },
    blockedPorts: e.RUNTIME_BLOCKED_PORTS,
    hiddenPaths: e.RUNTIME_HIDDEN_PATHS,
    repositoryPolicy: { hosts: e.REPOSITORY_HOSTS, allowFile: e.ALLOW_FILE_REPOSITORIES },
  };
}

/**
 * How the service authenticates to NATS, from NATS_USER + NATS_PASSWORD, NATS_TOKEN or NATS_CREDS
 * (a credentials file); at most one way. Unset: no authentication (a server without it).
 */
export function natsCredentials(e: { NATS_USER?: string; NATS_PASSWORD?: string; NATS_TOKEN?: string; NATS_CREDS?: string }) {
  return {
    ...(e.NATS_USER !== undefined ? { user: e.NATS_USER, password: e.NATS_PASSWORD ?? '' } : {}),
    ...(e.NATS_TOKEN !== undefined ? { token: e.NATS_TOKEN } : {}),
    ...(e.NATS_CREDS !== undefined ? { credsFile: e.NATS_CREDS } : {}),
  };
}

/** The checks natsCredentials relies on, for a schema's superRefine. */
export function checkNatsCredentials(e: { NATS_USER?: string; NATS_PASSWORD?: string; NATS_TOKEN?: string; NATS_CREDS?: string }, ctx: z.RefinementCtx): void {
  if (e.NATS_PASSWORD !== undefined && e.NATS_USER === undefined) ctx.addIssue({ code: 'custom', path: ['NATS_PASSWORD'], message: 'needs NATS_USER' });
  const ways = [e.NATS_USER !== undefined, e.NATS_TOKEN !== undefined, e.NATS_CREDS !== undefined].filter(Boolean).length;
  if (ways > 1) ctx.addIssue({ code: 'custom', path: ['NATS_USER'], message: 'give NATS_USER/NATS_PASSWORD, NATS_TOKEN or NATS_CREDS, only one of them' });
}

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * The init container image that clones repositories into /work. A fixed version, never `:latest`:
 * `latest` changes under a running installation (a new git may refuse an old remote's protocol or
 * change its output), nodes that pulled it at different times run different gits, and with
 * `imagePullPolicy: Always` implied by `:latest` every session start pulls from Docker Hub (rate
 * limits). v2.45.1 is a published tag of alpine/git; operators should mirror it and pin a digest.
 */
export const DEFAULT_KUBERNETES_GIT_IMAGE = 'alpine/git:v2.45.1';

/**
 * The kubernetes runtime's variables, the same in every service that runs workloads (sessions with
 * SESSION_RUNTIME=kubernetes, apps with APP_RUNTIME=kubernetes): spread into the schema, check them
 * with checkKubernetesRuntime, and hand the parsed values to kubernetesRuntimeSettings.
 */
export const kubernetesRuntimeVars = {
  KUBERNETES_NAMESPACE: z.string().regex(DNS_1123_LABEL, { message: 'must be a namespace name (a DNS-1123 label), e.g. launchpad' }).optional(),
  KUBERNETES_STORAGE_CLASS: z.string().regex(DNS_1123_SUBDOMAIN, { message: 'must be a StorageClass name, e.g. standard' }).optional(),
  KUBERNETES_IMAGE_PULL_SECRETS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((names) => names.every((n) => DNS_1123_SUBDOMAIN.test(n)), { message: 'must be comma-separated Secret names, e.g. regcred,gitlab-registry' }),
  KUBERNETES_GIT_IMAGE: z
    .string()
    .min(1)
    .default(DEFAULT_KUBERNETES_GIT_IMAGE)
    .refine((v) => /[:@]/.test(v.slice(v.lastIndexOf('/') + 1)) && !/:latest$/.test(v), { message: 'must name a version, e.g. alpine/git:v2.45.1 or an @sha256: digest (not :latest, which changes under a running installation)' }),
  KUBERNETES_CLUSTER_DOMAIN: z.string().regex(DNS_1123_SUBDOMAIN, { message: 'must be a DNS domain, e.g. cluster.local' }).default('cluster.local'),
  KUBERNETES_RESYNC_INTERVAL_MS: envVars.durationMs(300_000),
};

/** With the kubernetes runtime chosen through `runtimeVariable`, the namespace is required. */
export function checkKubernetesRuntime(
  runtimeVariable: string,
  e: { KUBERNETES_NAMESPACE?: string | undefined; RUNTIME_SPEC_HASH_KEY?: Buffer | undefined },
  kind: string,
  ctx: z.RefinementCtx,
): void {
  if (!e.KUBERNETES_NAMESPACE) {
    ctx.addIssue({ code: 'custom', path: ['KUBERNETES_NAMESPACE'], message: `required with ${runtimeVariable}=kubernetes: the namespace ${kind} are made in (the manifests set it to the pod's own)` });
  }
  if (!e.RUNTIME_SPEC_HASH_KEY) {
    ctx.addIssue({
      code: 'custom',
      path: ['RUNTIME_SPEC_HASH_KEY'],
      message: `required with ${runtimeVariable}=kubernetes: the key of the spec-hash annotations, the same in every replica (the manifests take it from Secret launchpad-spec-hash)`,
    });
  }
}

export function kubernetesRuntimeSettings(e: {
  KUBERNETES_NAMESPACE?: string | undefined;
  KUBERNETES_STORAGE_CLASS?: string | undefined;
  KUBERNETES_IMAGE_PULL_SECRETS: string[];
  KUBERNETES_GIT_IMAGE: string;
  KUBERNETES_CLUSTER_DOMAIN: string;
  KUBERNETES_RESYNC_INTERVAL_MS: number;
}) {
  return {
    namespace: e.KUBERNETES_NAMESPACE ?? 'default',
    storageClassName: e.KUBERNETES_STORAGE_CLASS ?? null,
    imagePullSecrets: e.KUBERNETES_IMAGE_PULL_SECRETS,
    gitImage: e.KUBERNETES_GIT_IMAGE,
    clusterDomain: e.KUBERNETES_CLUSTER_DOMAIN,
    resyncMs: e.KUBERNETES_RESYNC_INTERVAL_MS,
  };
}
