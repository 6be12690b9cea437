import { checkNatsCredentials, envVars, natsCredentials, loadConfigOrExit } from '@launchpad/config';
import { APP_CALLER_SECRET_MIN_LENGTH } from '@launchpad/contracts';
import { z } from 'zod';
import { parseActivatorUrls } from './app-proxy/activator-upstreams.js';

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
    if (env.AUTH_JWKS_URL && env.AUTH_DEV_SIGNING_KEY) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_DEV_SIGNING_KEY'], message: 'set either AUTH_JWKS_URL or AUTH_DEV_SIGNING_KEY, not both' });
    }
  });

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = loadConfigOrExit('gateway', schema, env);
  return {
    http: { port: e.PORT, bodyLimitBytes: e.BODY_LIMIT_BYTES, webhookBodyLimitBytes: e.WEBHOOK_BODY_LIMIT_BYTES, publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}` },
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
