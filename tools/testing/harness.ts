/**
 * Real parts for tests: a throwaway Postgres database on the machine's server, a private
 * `nats-server -js` child (so suites can run in parallel and restart "their" NATS), and our
 * services started as real child processes from their built output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { ensurePostgresRoles, roleOf } from '../dev/postgres-roles.js';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { natsPasswords, natsServerConfig } from '../dev/nats-auth.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const MACHINE_NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

export const uniqueSuffix = () => randomBytes(4).toString('hex');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

export interface TestDatabase {
  /** As postgres: what a suite's own assertions read with. */
  url: string;
  name: string;
  /** The URL each service with a schema connects with: as its own role, with rights on its own schema only (tools/dev/postgres-roles.js). */
  serviceUrl(service: string): string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `lp_test_${uniqueSuffix()}`;
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  // Roles are the whole server's: each suite its own (this machine's Postgres trusts loopback, so no passwords).
  const prefix = `${name}_`;
  const serviceUrls: Record<string, string> = await ensurePostgresRoles(url.toString(), { prefix, passwords: false });
  return {
    url: url.toString(),
    name,
    serviceUrl(service) {
      const found = serviceUrls[service];
      if (!found) throw new Error(`no database role for "${service}"`);
      return found;
    },
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      // What the roles owned went with the database; their grants on it too.
      for (const service of Object.keys(serviceUrls)) await c.query(`DROP ROLE IF EXISTS "${roleOf(service, prefix)}"`);
      await c.end();
    },
  };
}

export interface TestNats {
  /** The server's address; it takes no client without credentials. */
  url: string;
  port: number;
  /** A test's own client: `connect({ servers: nats.url, ...nats.auth })`, with no subject restrictions. */
  auth: { user: string; pass: string };
  /** NATS_URL, NATS_USER and NATS_PASSWORD for one service, with that service's permissions (tools/dev/nats-auth.js). */
  serviceEnv(service: string): Record<string, string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Gives `user` a new password in the server's configuration (it takes effect at the next start); serviceEnv() then hands out the new one. */
  setPassword(user: string, password: string): void;
  /** Stops the server for good and removes its store. */
  dispose(): Promise<void>;
}

async function waitForPort(port: number, what: string, timeoutMs = 15_000): Promise<void> {
  const { connect } = await import('node:net');
  await waitFor(
    what,
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    timeoutMs,
  );
}

/** A private NATS server with JetStream; its store survives stop()/start(), as a real restart's would. */
export async function startNats(): Promise<TestNats> {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'lp-nats-'));
  // Every service with its own user and subject permissions, as npm start runs them, so that every
  // suite exercises them; the suite's own client is the unrestricted user "test".
  const passwords = natsPasswords(['test']);
  const configFile = join(storeDir, 'nats-server.conf');
  const writeConfig = () => writeFileSync(configFile, natsServerConfig({ host: '127.0.0.1', port, storeDir, passwords, unrestricted: ['test'] }), { mode: 0o600 });
  writeConfig();
  let child: ChildProcess | undefined;
  const url = `nats://127.0.0.1:${port}`;
  const nats: TestNats = {
    url,
    port,
    auth: { user: 'test', pass: passwords.test! },
    serviceEnv: (service) => {
      if (!passwords[service]) throw new Error(`no NATS user for "${service}"`);
      return { NATS_URL: url, NATS_USER: service, NATS_PASSWORD: passwords[service] };
    },
    setPassword(user, password) {
      if (!passwords[user]) throw new Error(`no NATS user "${user}"`);
      passwords[user] = password;
      writeConfig();
    },
    async start() {
      child = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-c', configFile], {
        stdio: 'ignore',
      });
      child.once('error', (error) => {
        throw new Error(`could not start nats-server (is it installed and on PATH?): ${error.message}`);
      });
      await waitForPort(port, `nats-server on port ${port}`);
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    },
    async dispose() {
      await nats.stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
  await nats.start();
  return nats;
}

export interface RunningService {
  name: string;
  port: number;
  url: string;
  logs(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  start(): Promise<void>;
  /** Resolves with the exit code once the process started last exits on its own (or is killed). */
  exited(): Promise<number | null>;
}

/** Starts `apps/<name>/dist/main.js` as its own process and waits until /readyz says ready. */
export async function startService(name: string, env: Record<string, string>): Promise<RunningService> {
  let output = '';
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  const service: RunningService = {
    name,
    port: 0,
    url: '',
    logs: () => output,
    exited: () => exited,
    async start() {
      const c = spawn(process.execPath, [join(ROOT, 'apps', name, 'dist', 'main.js')], {
        env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env, PORT: String(service.port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      // 'close': the exit code once its output is all read.
      exited = new Promise((resolve) => c.once('close', (code) => resolve(code)));
      c.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      c.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      try {
        // Generous: this bounds a hang, it does not measure start-up, and a loaded CI machine is slow.
        await waitFor(
          `${name} to be ready on :${service.port}`,
          async () => {
            if (c.exitCode !== null || c.signalCode !== null) return 'exited';
            const res = await fetch(`${service.url}/readyz`).catch(() => undefined);
            return res?.status === 200;
          },
          60_000,
        );
      } catch (error) {
        // One that never became ready must not outlive the suite (nothing else would stop it).
        if (c.exitCode === null) c.kill('SIGKILL');
        throw new Error(`${(error as Error).message}; its last output:\n${output.slice(-2000)}`);
      }
      if (c.exitCode !== null || c.signalCode !== null) {
        // 'exit' can come before the last of its output: give the pipes a moment to drain.
        await new Promise((r) => (c.stdout?.readableEnded ? r(undefined) : (c.once('close', r), setTimeout(r, 1000).unref())));
        throw new ServiceExited(name, c.exitCode ?? c.signalCode, output);
      }
    },
    async kill(signal = 'SIGTERM') {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return c?.exitCode ?? null;
      const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
      c.kill(signal);
      return exited;
    },
  };
  // freePort() frees the port before the service binds it, so something else (another suite's
  // workload, say) can take it in between: on EADDRINUSE, take another port and start again.
  for (let attempt = 1; ; attempt++) {
    service.port = await freePort();
    service.url = `http://127.0.0.1:${service.port}`;
    try {
      await service.start();
      return service;
    } catch (error) {
      if (attempt >= 3 || !(error instanceof ServiceExited) || !/EADDRINUSE/.test(error.output)) throw error;
      output = '';
    }
  }
}

class ServiceExited extends Error {
  constructor(
    name: string,
    code: number | string | null,
    readonly output: string,
  ) {
    super(`${name} exited with code ${code}:\n${output.slice(-3000)}`);
  }
}

/** Whether a process runs: a zombie (exited, not yet reaped by whoever inherited it) does not. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * Ends every program the process runtime started under `dataDir` (each leads its own process
 * group), once the platform is stopped: sessions and app replicas outlive their service by design.
 */
export function killWorkloads(dataDir: string): void {
  let entries;
  try {
    entries = readdirSync(dataDir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    try {
      const { pid } = JSON.parse(readFileSync(join(dataDir, entry.name, 'state.json'), 'utf8')) as { pid: number | null };
      if (pid) process.kill(-pid, 'SIGKILL');
    } catch {
      // no state, or the group is gone already
    }
  }
}
