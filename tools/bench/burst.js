#!/usr/bin/env node
// `npm run bench -- burst`: BENCH_BURST requests (200) at once to an app at zero replicas, a Python
// `http.server` (a slow app: one Python process per replica), through the gateway's share link,
// BENCH_RUNS times (3). Every request must be answered; the goal is p99 within 3x (the app's own
// start + its service time for `target` requests), both measured bare in the same run:
//   start:   spawn to first answer of `python3 -m http.server`, alone and as many at once as the
//            burst needs replicas (they share the machine's cores as the replicas do)
//   service: `target` requests at once to a warm bare server, until the last is answered
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupOnSignal, freePort, sleep, startPlatform, summarize, workloadDataDir } from './lib.js';

const BURST = Number(process.env.BENCH_BURST ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TARGET = Number(process.env.BENCH_BURST_TARGET ?? 10);
const MAX = Number(process.env.BENCH_BURST_MAX_REPLICAS ?? Math.ceil(BURST / TARGET));
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
const SERVE = `exec ${PYTHON} -m http.server "$PORT" --bind 127.0.0.1`;
const PAGE = '<!doctype html><title>burst</title><p>served by python http.server</p>\n';

/** The app's code: a git repository whose Procfile serves it with http.server (at its root, as Procfile apps are). */
function makeRepository(root) {
  const dir = join(root, 'site');
  mkdirSync(dir, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  writeFileSync(join(dir, 'Procfile'), `web: ${SERVE}\n`);
  writeFileSync(join(dir, 'index.html'), PAGE);
  const git = (...args) => execFileSync('git', ['-C', dir, '-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...args]);
  git('add', '.');
  git('commit', '-q', '-m', 'a site');
  return `file://${dir}`;
}

const agent = new Agent({ keepAlive: true, maxSockets: BURST * 2 });
/** The one clean-up of this run (see cleanup), whether it ends, fails or is interrupted. */
let cleaning;
/** The first answer that was not 200, to say why. */
let firstRefusal = null;
/** GET over a keep-alive connection to 127.0.0.1, with the URL's own Host: apps' origins are `*.apps.localhost`, which Node may not resolve. */
function get(url) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: u.port, path: `${u.pathname}${u.search}`, headers: { host: u.host }, agent }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        if (res.statusCode !== 200 && !firstRefusal) firstRefusal = `${res.statusCode} ${(/<p>(.*?)<\/p>/s.exec(body)?.[1] ?? body).slice(0, 400)}`;
        resolve(res.statusCode);
      });
    });
    req.on('error', (error) => resolve(`error ${error.message}`));
    req.end();
  });
}

/** `python3 -m http.server` alone: spawn to its first answer, polled every 5 ms. */
async function bareStart() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lp-bench-burst-'));
  writeFileSync(join(dir, 'index.html'), PAGE);
  const started = performance.now();
  const child = spawn('sh', ['-c', SERVE], { cwd: dir, env: { PATH: process.env.PATH, PORT: String(port) }, stdio: 'ignore', detached: true });
  try {
    for (;;) {
      if ((await get(`http://127.0.0.1:${port}/`)) === 200) return { ms: performance.now() - started, port, child, dir };
      await sleep(5);
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}
const stopBare = ({ child, dir }) => {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // gone
  }
  rmSync(dir, { recursive: true, force: true });
};

async function burstAt(url, n) {
  const latencies = [];
  const statuses = new Map();
  await Promise.all(
    Array.from({ length: n }, async () => {
      const t = performance.now();
      const status = await get(url);
      latencies.push(performance.now() - t);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }),
  );
  return { latencies, statuses };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dataDir = workloadDataDir('lp-bench-burst-apps-');
const replicasDir = join(dataDir, 'replicas');
// Replicas run as users of their own (as root) and clone the app's repository from under it (workloadDataDir: 0755).
const platform = await startPlatform({
  // The app's code is a local repository (file://), which only development allows.
  ALLOW_FILE_REPOSITORIES: 'true',
  APPS_RUNTIME_DATA_DIR: replicasDir,
  APP_STABLE_WINDOW_MS: '2000',
  APP_PANIC_WINDOW_MS: '1000',
  APP_IDLE_GRACE_MS: '1000',
  APP_SCALER_TICK_MS: '200',
  APP_DRAIN_MS: '1000',
  ACTIVATOR_ROUTE_REFRESH_MS: '500',
  ACTIVATOR_REPORT_INTERVAL_MS: '200',
});
cleanupOnSignal(() => cleanup());
const headers = { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json' };
const api = async (path, init = {}) => {
  const res = await fetch(`${platform.api}${path}`, { headers, ...init });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
};

try {
  console.log(`\nBurst benchmark: ${BURST} requests at once to a Python http.server app at zero, target ${TARGET} per replica, at most ${MAX} replicas, ${RUNS} runs\n`);
  // Baselines: the program alone, one and as many at once as the burst asks for; its service time.
  const alone = [];
  for (let i = 0; i < 5; i++) {
    const b = await bareStart();
    alone.push(b.ms);
    stopBare(b);
  }
  const startAlone = summarize('baseline: python http.server alone, spawn to first answer', alone);
  const replicasNeeded = Math.min(MAX, Math.ceil(BURST / TARGET));
  const many = await Promise.all(Array.from({ length: replicasNeeded }, () => bareStart()));
  const startMany = summarize(`baseline: ${replicasNeeded} started at once`, many.map((b) => b.ms));
  const warm = many[0];
  const service = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await burstAt(`http://127.0.0.1:${warm.port}/`, TARGET);
    service.push(performance.now() - t);
  }
  for (const b of many) stopBare(b);
  const serviceMs = median(service);
  console.log(`${`baseline: ${TARGET} requests at once to a warm bare server`.padEnd(54)} median ${serviceMs.toFixed(1)} ms`);

  const repository = makeRepository(dataDir);
  await api('/projects/bench', { method: 'PUT', body: JSON.stringify({ path: 'bench/burst', name: 'Bench', visibility: 'public', repositories: [{ url: repository }] }) });
  const launcher = await api('/projects/bench/launchers', {
    method: 'POST',
    body: JSON.stringify({ name: 'burst', kind: 'app', environment: { kind: 'custom', image: 'bench/python:3', port: 8000 } }),
  });
  const app = await api(`/apps/${launcher.id}/activate`, { method: 'POST', body: JSON.stringify({ minReplicas: 0, maxReplicas: MAX, targetConcurrency: TARGET }) });
  // The share link, on the app's own origin (<slug>.apps.localhost:<gateway port>).
  const link = app.url;
  // The first start of each replica also makes its directory: warm every one up once, as after idling.
  const first = await burstAt(link, BURST);
  console.log(`${'warm-up burst (replicas made)'.padEnd(54)} ${[...first.statuses].map(([s, c]) => `${c}x ${s}`).join(', ')}`);
  if (firstRefusal) console.log(`  the first refusal: ${firstRefusal}\n  the app says: ${(await api(`/apps/${launcher.id}`)).message}`);
  firstRefusal = null;

  const p99s = [];
  let failed = 0;
  for (let run = 0; run < RUNS; run++) {
    for (;;) {
      const s = await api(`/apps/${launcher.id}`);
      if (s.desiredReplicas === 0 && s.readyReplicas === 0 && s.replicas.every((r) => r.phase === 'stopped')) break;
      await sleep(200);
    }
    const { latencies, statuses } = await burstAt(link, BURST);
    const r = summarize(`burst ${run + 1}: ${BURST} at once, at zero, to first answer`, latencies);
    const bad = BURST - (statuses.get(200) ?? 0);
    failed += bad;
    if (bad > 0) console.log(`  not answered 200: ${[...statuses].filter(([s]) => s !== 200).map(([s, c]) => `${c}x ${s}`).join(', ')}; the first: ${firstRefusal}`);
    firstRefusal = null;
    const status = await api(`/apps/${launcher.id}`);
    console.log(`  replicas asked for: ${status.desiredReplicas}, ready: ${status.readyReplicas}`);
    p99s.push(r.p99);
  }
  const goalAlone = 3 * (startAlone.p50 + serviceMs);
  const goalMany = 3 * (startMany.p50 + serviceMs);
  const p99 = median(p99s);
  console.log(`\n${'burst p99, median of runs'.padEnd(54)} ${p99.toFixed(0)} ms (runs: ${p99s.map((x) => x.toFixed(0)).join(', ')})`);
  // A request that was not answered is no latency at all: the goal is not met, however fast the rest were.
  const met = (goal) => (failed === 0 && p99 <= goal ? 'MET' : 'NOT MET');
  console.log(`${'goal: 3x (start alone + service of target)'.padEnd(54)} ${goalAlone.toFixed(0)} ms  -> p99 / goal x${(p99 / goalAlone).toFixed(2)} ${met(goalAlone)}`);
  console.log(`${`goal: 3x (${replicasNeeded} starting at once + service)`.padEnd(54)} ${goalMany.toFixed(0)} ms  -> p99 / goal x${(p99 / goalMany).toFixed(2)} ${met(goalMany)}`);
  console.log(`${'requests not answered 200'.padEnd(54)} ${failed}`);
} finally {
  await cleanup();
}

function cleanup() {
  cleaning ??= stopAll();
  return cleaning;
}
async function stopAll() {
  agent.destroy();
  await platform.stop();
  // Replicas outlive the apps service by design (a restart adopts them): end the ones this run started.
  let replicas = [];
  try {
    replicas = readdirSync(replicasDir);
  } catch {
    // none started
  }
  for (const id of replicas) {
    try {
      const { pid } = JSON.parse(readFileSync(join(replicasDir, id, 'state.json'), 'utf8'));
      if (pid) process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
}
