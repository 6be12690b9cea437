import { createHmac } from 'node:crypto';
import { checkNatsCredentials, envVars, natsCredentials, loadConfigOrExit, parseEnv } from '@launchpad/config';
import { APP_CALLER_SECRET_MIN_LENGTH } from '@launchpad/contracts';
import { z } from 'zod';
import { parseActivatorUrls } from './app-proxy/activator-upstreams.js';

/** A DNS name of one or more labels, lowercase: what a wildcard `*.<domain>` record and certificate cover. */
const domainName = (example: string) =>
  z
    .string()
    .transform((v) => v.trim().toLowerCase().replace(/\.$/, ''))
    .pipe(
      z
        .string()
        .max(200, { message: 'must be at most 200 characters (a session id or app slug and a dot go in front of it)' })
        .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/, {
          message: `must be a DNS domain of two labels or more, e.g. ${example} (every session or app gets a name under it)`,
        }),
    );
const under = (host: string, domain: string) => host === domain || host.endsWith(`.${domain}`);

const schema = z
  .object({
    PORT: envVars.port(8080),
    NATS_URL: envVars.natsUrl,
    NATS_USER: envVars.natsSecret,
    NATS_PASSWORD: envVars.natsSecret,
    NATS_TOKEN: envVars.natsSecret,
    NATS_CREDS: envVars.natsSecret,
    LOG_LEVEL: envVars.logLevel,
    PUBLIC_URL: z.url({ message: 'must be the URL people reach the gateway at, e.g. https://launchpad.example.com' }).optional(),
    RPC_TIMEOUT_MS: envVars.durationMs(5000),
    SESSION_ACTIVITY_REPORT_MS: envVars.durationMs(10_000),
    BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(256 * 1024),
    // GitLab webhooks: a pipeline hook lists every job, so it may be larger than API bodies; it
    // goes on over NATS (max_payload 1 MiB by default), trimmed, so it must stay below that.
    WEBHOOK_BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1_000_000, { message: 'must stay below NATS max_payload (1 MiB): at most 1000000' })
      .default(960 * 1024),
    AUTH_JWKS_URL: z.url({ message: 'must be the JWKS URL of your OIDC provider, e.g. https://keycloak/realms/x/protocol/openid-connect/certs' }).optional(),
    AUTH_DEV_SIGNING_KEY: z.string().min(32, { message: 'must be at least 32 characters (npm start generates one)' }).optional(),
    AUTH_ISSUER: z.string().min(1).optional(),
    AUTH_AUDIENCE: z.string().min(1).optional(),
    AUTH_ADMIN_ROLE: z.string().min(1).default('launchpad-admin'),
    AUTH_USER_CLAIM: z.string().min(1).default('sub'),
    // One URL (e.g. a Service in front of the apps replicas) or several, comma-separated: see ActivatorUpstreams.
    APPS_ACTIVATOR_URL: z
      .string()
      .default('http://127.0.0.1:3003')
      .transform(parseActivatorUrls)
      .pipe(
        z
          .array(z.url({ message: 'must be the URL of an apps service activator, e.g. http://apps:3003 (several: comma-separated)' }))
          .min(1, { message: 'must name at least one apps service activator, e.g. http://apps:3003' }),
      ),
    // Each session and app is its own origin, <id>.SESSIONS_DOMAIN and <slug>.APPS_DOMAIN, with the
    // scheme and port of PUBLIC_URL: wildcard DNS and a wildcard certificate for each (README).
    SESSIONS_DOMAIN: domainName('sessions.example-usercontent.com').default('sessions.localhost'),
    APPS_DOMAIN: domainName('apps.example-usercontent.com').default('apps.localhost'),
    ORIGIN_COOKIE_SECRET: z.string().min(32, { message: 'must be at least 32 characters: the key the gateway signs session and app sign-in cookies with' }).optional(),
    ORIGIN_COOKIE_TTL_MS: envVars.durationMs(12 * 3600_000),
    SSE_STREAMS_PER_USER: z.coerce.number().int().min(1).max(1000).default(10),
    APPS_CALLER_SECRET: z
      .string({ message: 'required: the secret share-link callers are signed with for the apps activator (the same value as the apps service\'s; npm start generates one)' })
      .min(APP_CALLER_SECRET_MIN_LENGTH, { message: `must be at least ${APP_CALLER_SECRET_MIN_LENGTH} characters, the same value as the apps service's` }),
  })
  .superRefine((env, ctx) => {
    checkNatsCredentials(env, ctx);
    if (!env.AUTH_JWKS_URL && !env.AUTH_DEV_SIGNING_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_JWKS_URL'],
        message: 'set AUTH_JWKS_URL (production: your OIDC provider) or AUTH_DEV_SIGNING_KEY (development only)',
      });
    }
    if (env.AUTH_JWKS_URL && (!env.AUTH_ISSUER || !env.AUTH_AUDIENCE)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.AUTH_ISSUER ? 'AUTH_AUDIENCE' : 'AUTH_ISSUER'],
        message: 'with AUTH_JWKS_URL, set both AUTH_ISSUER (your realm URL, the tokens\' "iss") and AUTH_AUDIENCE (the client id tokens are issued for, their "aud"): a token of any other realm or client must not be accepted',
      });
    }
    if (env.AUTH_JWKS_URL && !env.ORIGIN_COOKIE_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['ORIGIN_COOKIE_SECRET'], message: 'required with AUTH_JWKS_URL: a random secret of 32 characters or more (openssl rand -hex 32), the same on every gateway replica' });
    }
    if (env.SESSIONS_DOMAIN && env.APPS_DOMAIN && (under(env.SESSIONS_DOMAIN, env.APPS_DOMAIN) || under(env.APPS_DOMAIN, env.SESSIONS_DOMAIN))) {
      ctx.addIssue({ code: 'custom', path: ['APPS_DOMAIN'], message: `must be neither SESSIONS_DOMAIN (${env.SESSIONS_DOMAIN}) nor under it, nor above it: a session and an app must never share a name` });
    }
    const apiHost = URL.parse(env.PUBLIC_URL ?? 'http://localhost')?.hostname ?? 'localhost';
    for (const [name, domain] of [['SESSIONS_DOMAIN', env.SESSIONS_DOMAIN], ['APPS_DOMAIN', env.APPS_DOMAIN]] as const) {
      if (domain && under(apiHost, domain)) {
        ctx.addIssue({ code: 'custom', path: [name], message: `must not contain the API's host ${apiHost} (PUBLIC_URL): the API must not share an origin with user content` });
      }
    }
    if (env.AUTH_JWKS_URL && env.AUTH_DEV_SIGNING_KEY) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_DEV_SIGNING_KEY'], message: 'set either AUTH_JWKS_URL or AUTH_DEV_SIGNING_KEY, not both' });
    }
  });

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env) {
  return toConfig(loadConfigOrExit('gateway', schema, env));
}

/** The same, throwing a ConfigError instead of exiting (for tests). */
export function parseGatewayConfig(env: NodeJS.ProcessEnv) {
  return toConfig(parseEnv('gateway', schema, env));
}

function toConfig(e: z.output<typeof schema>) {
  const publicUrl = e.PUBLIC_URL?.replace(/\/+$/, '') ?? `http://localhost:${e.PORT}`;
  return {
    http: { port: e.PORT, bodyLimitBytes: e.BODY_LIMIT_BYTES, webhookBodyLimitBytes: e.WEBHOOK_BODY_LIMIT_BYTES, publicUrl },
    /** Where sessions and apps are served: each on its own origin under these domains. */
    origins: {
      sessionsDomain: e.SESSIONS_DOMAIN,
      appsDomain: e.APPS_DOMAIN,
      // Development: derived from the signing key (a different key for a different use); required with JWKS.
      cookieSecret: e.ORIGIN_COOKIE_SECRET ?? createHmac('sha256', e.AUTH_DEV_SIGNING_KEY ?? '').update('launchpad origin cookies').digest('base64url'),
      cookieTtlMs: e.ORIGIN_COOKIE_TTL_MS,
    },
    /** Server-sent event streams (session progress, app logs) one user may hold open at once, per gateway. */
    streamsPerUser: e.SSE_STREAMS_PER_USER,
    nats: { url: e.NATS_URL, credentials: natsCredentials(e) },
    rpcTimeoutMs: e.RPC_TIMEOUT_MS,
    /** How often, at most, the proxy tells the sessions service that a session is in use. */
    sessionActivityReportMs: e.SESSION_ACTIVITY_REPORT_MS,
    logLevel: e.LOG_LEVEL,
    /** Share links `/a/<slug>/` are passed to one of the apps service's activators here. */
    apps: { activatorUrls: e.APPS_ACTIVATOR_URL, callerSecret: e.APPS_CALLER_SECRET },
    auth: {
      jwksUrl: e.AUTH_JWKS_URL,
      devSigningKey: e.AUTH_DEV_SIGNING_KEY,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
      adminRole: e.AUTH_ADMIN_ROLE,
      userClaim: e.AUTH_USER_CLAIM,
    },
  };
}
export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
