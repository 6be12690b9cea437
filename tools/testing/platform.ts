/** The whole platform for an end-to-end suite: its own database and NATS, every service, the gateway. */
import { randomBytes } from 'node:crypto';
import { devSigningKey, devToken } from '../dev/dev-key.js';
import { originFetch } from './origins.js';
import { createTestDatabase, startNats, startService, type RunningService, type TestDatabase, type TestNats } from './harness.js';

export interface TestPlatform {
  db: TestDatabase;
  nats: TestNats;
  environments: RunningService;
  gateway: RunningService;
  /** The optional services asked for, by name (e.g. `sessions`, `builds`). */
  services: Record<string, RunningService>;
  api: string;
  /** APPS_CALLER_SECRET of the gateway and the apps service (for another apps replica a suite starts). */
  appsCallerSecret: string;
  /** A development token for `user`; `ttlSeconds` for one that expires soon (default 12 h). */
  token(user: string, admin?: boolean, ttlSeconds?: number): Promise<string>;
  stop(): Promise<void>;
}

export type OptionalService = 'sessions' | 'builds' | 'apps';

export async function startPlatform(
  extraEnv: Record<string, Record<string, string>> = {},
  options: { services?: OptionalService[] } = {},
): Promise<TestPlatform> {
  const db = await createTestDatabase();
  const nats = await startNats();
  // Each service as its own role, with rights on its own schema only, as npm start runs them.
  const common = (service: string) => ({ DATABASE_URL: db.serviceUrl(service) });
  // Suites clone local repositories (file://): a development setting, turned on here explicitly.
  const localRepositories = { ALLOW_FILE_REPOSITORIES: 'true' };
  const key = devSigningKey();
  // What the gateway signs share-link callers with, and the apps service's activator checks.
  const callerSecret = { APPS_CALLER_SECRET: randomBytes(32).toString('base64url') };
  // What environments and sessions seal secrets with at rest (each its own key, as in a deployment).
  const secretKeys = (id: string) => ({ SECRETS_ENCRYPTION_KEYS: `${id}:${randomBytes(32).toString('base64')}` });
  // A service that does not start must not leave the others (and NATS, and the database) behind:
  // nothing else would stop them, and jest would wait for them.
  const started: RunningService[] = [];
  const start = async (name: string, env: Record<string, string>) => {
    const service = await startService(name, env);
    started.push(service);
    return service;
  };
  let environments: RunningService;
  let gateway: RunningService;
  const services: Record<string, RunningService> = {};
  try {
    environments = await start('environments', { ...common('environments'), ...nats.serviceEnv('environments'), ...localRepositories, ...secretKeys('env1'), ...extraEnv.environments });
    for (const name of options.services ?? []) {
      const own = name === 'apps' ? callerSecret : name === 'sessions' ? secretKeys('ses1') : {};
      services[name] = await start(name, { ...common(name), ...nats.serviceEnv(name), ...localRepositories, ...own, ...extraEnv[name] });
    }
    // Share links go to the apps service's activator when it runs.
    const activator: Record<string, string> = services.apps ? { APPS_ACTIVATOR_URL: services.apps.url } : {};
    gateway = await start('gateway', { ...nats.serviceEnv('gateway'), AUTH_DEV_SIGNING_KEY: key, RPC_TIMEOUT_MS: '3000', ...callerSecret, ...activator, ...extraEnv.gateway });
  } catch (error) {
    await Promise.all(started.map((s) => s.kill('SIGKILL')));
    await nats.dispose();
    await db.drop();
    throw error;
  }
  return {
    db,
    nats,
    environments,
    gateway,
    services,
    api: `${gateway.url}/api/v1`,
    appsCallerSecret: callerSecret.APPS_CALLER_SECRET,
    token: (user, admin = false, ttlSeconds?: number) => devToken({ user, admin, key, ...(ttlSeconds !== undefined ? { ttlSeconds } : {}) }),
    async stop() {
      await Promise.all([gateway.kill(), environments.kill(), ...Object.values(services).map((s) => s.kill())]);
      await nats.dispose();
      await db.drop();
    },
  };
}

/** A small fetch wrapper: JSON in, status + parsed body out. */
export async function call(
  url: string,
  init: { method?: string; token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  // Sessions' and apps' origins (*.localhost) too: see origins.ts.
  const res = await originFetch(url, { method: init.method ?? 'GET', headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: leave the text for the assertion to show
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
