// The systems a user would pick instead of ours, run beside us by `npm run bench -- compare`:
// JupyterHub with a local process spawner, configurable-http-proxy, and a bare node:http
// keep-alive proxy. Nothing here installs anything: `missingAnchors()` says what is missing and how
// to install it. Each starter resolves with `stop()`, which ends what it started and removes its files.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
export const JUPYTERHUB_BIN = process.env.JUPYTERHUB_BIN ?? '/usr/bin/jupyterhub';
export const CHP_BIN = process.env.CHP_BIN ?? '/usr/bin/configurable-http-proxy';
/** Debian's configurable-http-proxy finds its modules (commander, winston, http-proxy) only here. */
const DEBIAN_NODE_PATH = '/usr/share/nodejs';
const chpEnv = () => ({ ...process.env, NODE_PATH: [process.env.NODE_PATH, DEBIAN_NODE_PATH].filter(Boolean).join(':') });

/** What is not installed, each with how to install it; empty when every anchor is there. */
export function missingAnchors() {
  const missing = [];
  const runs = (bin, args, env) => existsSync(bin) && spawnSync(bin, args, { env, timeout: 60_000 }).status === 0;
  if (!runs(JUPYTERHUB_BIN, ['--version'])) missing.push(`JupyterHub (${JUPYTERHUB_BIN}): apt-get install jupyterhub, or set JUPYTERHUB_BIN`);
  if (!runs(CHP_BIN, ['--version'], chpEnv())) missing.push(`configurable-http-proxy (${CHP_BIN}): apt-get install node-configurable-http-proxy, or set CHP_BIN`);
  return missing;
}

const answers = (url, headers = {}) =>
  new Promise((resolve) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(5000, () => req.destroy());
    req.end();
  });

async function until(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(100);
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
}

/** Ends a child and its process group (JupyterHub starts its proxy and servers), and waits for it. */
async function end(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * A bare reverse proxy on node:http with a keep-alive agent to `upstream` (programs/bare-proxy.mjs),
 * in its own process as every proxy it is compared with: the least a proxy in Node can cost.
 */
export async function startBareProxy(upstream) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(here, 'programs', 'bare-proxy.mjs')], { env: { PATH: process.env.PATH, UPSTREAM: upstream, PORT: String(port) }, stdio: 'ignore', detached: true });
  const url = `http://127.0.0.1:${port}`;
  try {
    await until('the bare proxy', async () => (await answers(`${url}/`)) !== 0, 30_000);
  } catch (error) {
    await end(child);
    throw error;
  }
  return { url, pid: child.pid, stop: () => end(child) };
}

/** configurable-http-proxy on its own, every path to `upstream` (its default target). */
export async function startChp(upstream) {
  const [port, apiPort] = [await freePort(), await freePort()];
  const child = spawn(CHP_BIN, ['--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort), '--default-target', upstream, '--log-level', 'warn'], {
    env: { ...chpEnv(), CONFIGPROXY_AUTH_TOKEN: randomBytes(16).toString('hex') },
    stdio: 'ignore',
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await until('configurable-http-proxy', async () => (await answers(`${url}/`)) !== 0, 60_000);
  } catch (error) {
    await end(child);
    throw error;
  }
  return { url, pid: child.pid, stop: () => end(child) };
}

/**
 * JupyterHub 3 with the local process spawner that needs no system users
 * (SimpleLocalProcessSpawner), a dummy authenticator, its own configurable-http-proxy, a SQLite
 * database in a temporary directory, and an admin API token for a service named `bench`. Every
 * user's server is `program` (run with node), told its port and prefix as JupyterHub tells them.
 */
export async function startJupyterHub({ program, logLevel = 'WARN' }) {
  const dir = mkdtempSync(join(tmpdir(), 'lp-bench-jupyterhub-'));
  const [port, hubPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const token = randomBytes(24).toString('hex');
  const py = (s) => JSON.stringify(s);
  writeFileSync(
    join(dir, 'jupyterhub_config.py'),
    [
      'c = get_config()  # noqa',
      `c.JupyterHub.bind_url = ${py(`http://127.0.0.1:${port}`)}`,
      `c.JupyterHub.hub_bind_url = ${py(`http://127.0.0.1:${hubPort}`)}`,
      `c.ConfigurableHTTPProxy.api_url = ${py(`http://127.0.0.1:${apiPort}`)}`,
      `c.ConfigurableHTTPProxy.auth_token = ${py(randomBytes(16).toString('hex'))}`,
      `c.ConfigurableHTTPProxy.command = [${py(CHP_BIN)}]`,
      `c.JupyterHub.db_url = ${py(`sqlite:///${join(dir, 'jupyterhub.sqlite')}`)}`,
      `c.JupyterHub.cookie_secret_file = ${py(join(dir, 'cookie_secret'))}`,
      `c.JupyterHub.pid_file = ${py(join(dir, 'jupyterhub.pid'))}`,
      "c.JupyterHub.authenticator_class = 'dummy'",
      "c.JupyterHub.spawner_class = 'jupyterhub.spawner.SimpleLocalProcessSpawner'",
      `c.SimpleLocalProcessSpawner.home_dir_template = ${py(join(dir, 'home', '{username}'))}`,
      `c.Spawner.cmd = [${py(process.execPath)}, ${py(program)}]`,
      'c.Spawner.start_timeout = 300',
      'c.Spawner.http_timeout = 300',
      'c.JupyterHub.concurrent_spawn_limit = 0',
      'c.JupyterHub.active_server_limit = 0',
      'c.JupyterHub.cleanup_servers = True',
      `c.JupyterHub.log_level = ${py(logLevel)}`,
      `c.JupyterHub.services = [{'name': 'bench', 'api_token': ${py(token)}}]`,
      "c.JupyterHub.load_roles = [{'name': 'bench', 'scopes': ['admin:users', 'admin:servers', 'list:users', 'read:users', 'read:servers'], 'services': ['bench']}]",
      '',
    ].join('\n'),
  );
  const child = spawn(JUPYTERHUB_BIN, ['-f', join(dir, 'jupyterhub_config.py')], { cwd: dir, env: chpEnv(), stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const api = `${url}/hub/api`;
  const headers = { authorization: `token ${token}` };
  const stop = async () => {
    await end(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until('JupyterHub', async () => (await answers(`${api}/users`, headers)) === 200, 120_000);
  } catch (error) {
    await stop();
    throw new Error(`${error.message}; its last log lines:\n${log}`);
  }
  return { url, api, headers, pid: child.pid, stop };
}

/** Where the preloaded program lives, for startJupyterHub. */
export const JUPYTERHUB_PROGRAM = join(here, 'programs', 'jupyterhub-single-user.mjs');
