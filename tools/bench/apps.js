#!/usr/bin/env node
// `npm run bench -- apps`: what the apps service costs.
//   (a) warm:  throughput and p50/p99 latency of the same replica of a warm app, straight to it,
//              through the activator, and through the gateway's share link, in the same run
//   (b) cold:  time to first byte of a request to an app at zero replicas, through the share link,
//              minus the app program's own start-to-listen time (the same program started bare,
//              measured in the same run): p50/p99 over 20 cold starts
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { signCaller } from '@launchpad/contracts';
import { appsCallerSecret, ROOT } from '../dev/dev-key.js';
import { bareStart as bareStartOf, measure, ratio, sleep, startPlatform, summarize, workloadDataDir } from './lib.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'app-program.mjs');
const REQUESTS = Number(process.env.BENCH_APP_REQUESTS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_APP_CONCURRENCY ?? 32);
const COLD_STARTS = Number(process.env.BENCH_APP_COLD_STARTS ?? 20);

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });
/** Apps' origins are names under *.apps.localhost, which Node may not resolve: every name is this machine. */
const loopback = (_host, options, callback) => {
  const cb = typeof options === 'function' ? options : callback;
  if (typeof options === 'object' && options.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};
/** GET with a keep-alive agent; resolves at the first byte of the body (the answer has begun) and then reads it whole. */
function get(url, { firstByte, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers, lookup: loopback }, (res) => {
      const chunks = [];
      res.once('data', () => firstByte?.());
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
async function ok(url, headers = () => ({})) {
  const res = await get(url, { headers: headers() });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${res.body.slice(0, 300)}`);
  return res;
}

/** The program alone: spawn to first HTTP answer, polled every 5 ms. */
const bareStart = () => bareStartOf(PROGRAM, (port) => ({ PORT: String(port) }));

const dataDir = workloadDataDir('lp-bench-apps-');
const platform = await startPlatform({
  APPS_RUNTIME_DATA_DIR: dataDir,
  // Short windows, so that an idle app is at zero again within a couple of seconds.
  APP_STABLE_WINDOW_MS: '1000',
  APP_PANIC_WINDOW_MS: '500',
  APP_IDLE_GRACE_MS: '500',
  APP_SCALER_TICK_MS: '100',
  APP_DRAIN_MS: '700',
  ACTIVATOR_ROUTE_REFRESH_MS: '500',
  ACTIVATOR_REPORT_INTERVAL_MS: '100',
});
const headers = { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json' };
const api = async (path, init = {}) => {
  const res = await fetch(`${platform.api}${path}`, { headers, ...init });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
};

try {
  console.log(`\nApps benchmark (process runtime): ${REQUESTS} requests at ${CONCURRENCY} in flight to a warm app; ${COLD_STARTS} cold starts\n`);
  await api('/projects/bench', { method: 'PUT', body: JSON.stringify({ path: 'bench/apps', name: 'Bench', visibility: 'public' }) });
  const launcher = async (name) =>
    api('/projects/bench/launchers', {
      method: 'POST',
      body: JSON.stringify({ name, kind: 'app', environment: { kind: 'custom', image: 'bench/app:1', port: 8000, command: [process.execPath], args: [PROGRAM] } }),
    });

  // (a) One replica, kept warm (min = max = 1), reached three ways.
  const warm = await launcher('warm');
  const warmApp = await api(`/apps/${warm.id}/activate`, { method: 'POST', body: JSON.stringify({ minReplicas: 1, maxReplicas: 1, targetConcurrency: 1000 }) });
  for (let s = await api(`/apps/${warm.id}`); s.readyReplicas < 1; s = await api(`/apps/${warm.id}`)) await sleep(50);
  const replica = readdirSync(dataDir).find((d) => d.startsWith(warm.id));
  const { port } = JSON.parse(readFileSync(join(dataDir, replica, 'state.json'), 'utf8'));
  const direct = `http://127.0.0.1:${port}/`;
  // The activator takes only what the gateway signed (a nonce each): signed here as the gateway does, anonymous.
  const activatorPath = `/a/${warmApp.slug}/`;
  const viaActivator = `http://127.0.0.1:${platform.ports.apps}${activatorPath}`;
  const signed = () => signCaller(appsCallerSecret(), null, 'GET', activatorPath);
  const viaGateway = warmApp.url;
  const ways = [[direct, undefined], [viaActivator, signed], [viaGateway, undefined]];
  // Warm-up, each way as it is then measured: JIT, sockets.
  for (const [url, sign] of ways) await Promise.all(Array.from({ length: CONCURRENCY }, async () => { for (let i = 0; i < 100; i++) await ok(url, sign); }));
  const d = await measure('warm app, straight to the replica', REQUESTS, CONCURRENCY, () => ok(direct));
  const a = await measure('warm app, through the activator', REQUESTS, CONCURRENCY, () => ok(viaActivator, signed));
  const g = await measure('warm app, through the gateway share link', REQUESTS, CONCURRENCY, () => ok(viaGateway));
  ratio('ratio activator / direct', a, d);
  ratio('ratio gateway + activator / direct', g, d);
  await api(`/apps/${warm.id}/deactivate`, { method: 'POST' });

  // (b) Cold starts: the program alone, then the same program woken by a request to an app at zero.
  const bare = [];
  for (let i = 0; i < COLD_STARTS; i++) bare.push(await bareStart());
  const baseline = summarize('baseline: the program alone, spawn to first answer', bare);
  const cold = await launcher('cold');
  const coldApp = await api(`/apps/${cold.id}/activate`, { method: 'POST', body: '{}' });
  const link = coldApp.url;
  await ok(link); // the first start also makes the replica's directory; the rest start a stopped replica, as after idling
  const ttfb = [];
  const waited = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    for (;;) {
      const s = await api(`/apps/${cold.id}`);
      if (s.desiredReplicas === 0 && s.readyReplicas === 0 && s.replicas.every((r) => r.phase === 'stopped')) break;
      await sleep(50);
    }
    const started = performance.now();
    let first = 0;
    const res = await get(link, { firstByte: () => (first = performance.now()) });
    if (res.status !== 200) throw new Error(`cold start ${i}: ${res.status} ${res.body}`);
    ttfb.push(first - started);
    waited.push(Number(/waited=(\d+)ms/.exec(res.headers['x-launchpad-activation'] ?? '')?.[1] ?? NaN));
  }
  const c = summarize('cold start: request at zero replicas to first byte', ttfb);
  summarize('  activator wait (X-Launchpad-Activation waited=)', waited);
  summarize('  overhead: first byte minus the program\'s own start (p50)', ttfb.map((t) => t - baseline.p50));
  console.log(`${'ratio cold start / program start'.padEnd(54)} p50 x${(c.p50 / baseline.p50).toFixed(1)}  p99 x${(c.p99 / baseline.p99).toFixed(1)}`);
} finally {
  agent.destroy();
  await platform.stop();
  // Replicas outlive the apps service by design (a restart adopts them): end the ones this run started.
  for (const id of readdirSync(dataDir)) {
    try {
      const { pid } = JSON.parse(readFileSync(join(dataDir, id, 'state.json'), 'utf8'));
      if (pid) process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
}
