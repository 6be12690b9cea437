// Shared by the benchmark parts: timing with percentiles, ratios, and a whole platform started
// with `npm start`'s own script against a throwaway database.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ROOT } from '../dev/dev-key.js';

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The machine's NATS, for raw baselines; each platform gets its own private server (startNats). */
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

const portAnswers = (port) =>
  new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/**
 * A private `nats-server -js`: on the machine's shared NATS, another platform running at the same
 * time (a developer's `npm start`, a test) would answer half of this one's requests from its own database.
 */
export async function startNats(port) {
  const store = mkdtempSync(join(tmpdir(), 'lp-bench-nats-'));
  const child = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await portAnswers(port)); i++) await new Promise((r) => setTimeout(r, 50));
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(store, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh directory for workloads' data (RUNTIME_DATA_DIR and the like). As root the runtime runs
 * each workload as a user of its own, who must be able to reach its folder under it; mkdtemp makes
 * it 0700.
 */
export function workloadDataDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/**
 * A program's own start-to-listen time: spawned bare (no platform) with `env(port)`, until its
 * first 2xx answer at `path`, polled every 5 ms. The baseline a launch's overhead is measured against.
 */
export async function bareStart(program, env, path = '/') {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [program], { env: { PATH: process.env.PATH, ...env(port) }, stdio: 'ignore' });
  try {
    for (;;) {
      const answered = await fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.ok, () => false);
      if (answered) return performance.now() - started;
      await sleep(5);
    }
  } finally {
    child.kill('SIGKILL');
  }
}

export const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Calls `fn(i)` for each i from 0 to n - 1, `concurrency` calls in flight at a time, in turn. */
export async function inTurns(n, concurrency, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

export function summarize(label, samples, seconds) {
  const sorted = [...samples].sort((a, b) => a - b);
  const r = { label, n: sorted.length, p50: pct(sorted, 50), p99: pct(sorted, 99), perSecond: seconds ? sorted.length / seconds : undefined };
  const rate = r.perSecond === undefined ? '' : `  ${r.perSecond.toFixed(0).padStart(6)}/s`;
  console.log(`${label.padEnd(54)} n=${String(r.n).padStart(4)}  p50 ${r.p50.toFixed(2).padStart(8)} ms  p99 ${r.p99.toFixed(2).padStart(8)} ms${rate}`);
  return r;
}

/** Runs `op` n times with `concurrency` in flight, and prints p50, p99 and throughput. */
export async function measure(label, n, concurrency, op) {
  const latencies = [];
  const started = performance.now();
  await inTurns(n, concurrency, async (i) => {
    const t = performance.now();
    await op(i);
    latencies.push(performance.now() - t);
  });
  return summarize(label, latencies, (performance.now() - started) / 1000);
}

export const ratio = (label, a, b) =>
  console.log(`${label.padEnd(54)} p50 x${(a.p50 / b.p50).toFixed(1)}  p99 x${(a.p99 / b.p99).toFixed(1)}${a.perSecond && b.perSecond ? `  throughput x${(a.perSecond / b.perSecond).toFixed(2)}` : ''}`);

/** `tools/dev/start.js` on a fresh database and free-ish ports; resolves with the API URL, a token and `stop()`. */
export async function startPlatform(extraEnv = {}) {
  const db = `lp_bench_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${db}`;
  const base = 18000 + Math.floor(Math.random() * 1000) * 6;
  const ports = { gateway: base, environments: base + 1, sessions: base + 2, apps: base + 3, builds: base + 4, nats: base + 5 };
  const nats = await startNats(ports.nats);
  const child = spawn(process.execPath, [join(ROOT, 'tools/dev/start.js')], {
    env: {
      ...process.env,
      DATABASE_URL: dbUrl.toString(),
      NATS_URL: nats.url,
      GATEWAY_PORT: String(ports.gateway),
      ENVIRONMENTS_PORT: String(ports.environments),
      SESSIONS_PORT: String(ports.sessions),
      APPS_PORT: String(ports.apps),
      BUILDS_PORT: String(ports.builds),
      LOG_LEVEL: 'warn',
      RUNTIME_DATA_DIR: join(tmpdir(), `${db}-sessions`),
      // BENCH_CPU_PROF_DIR: every service preloads the profiler that platform.profile() drives.
      ...(PROFILE_DIR ? { LAUNCHPAD_NODE_ARGS: `--import=${join(dirname(fileURLToPath(import.meta.url)), 'cpu-profile.mjs')}`, BENCH_CPU_PROF_DIR: PROFILE_DIR } : {}),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const token = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out = (out + d).slice(-200_000);
      const m = /export TOKEN=(\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`the platform exited (${code}):\n${out}`)));
  });
  return {
    api: `http://127.0.0.1:${ports.gateway}/api/v1`,
    gateway: `http://127.0.0.1:${ports.gateway}`,
    ports,
    dbUrl: dbUrl.toString(),
    natsUrl: nats.url,
    token,
    /** The platform's recent log lines (LOG_LEVEL warn: warnings and errors), to say why something failed. */
    logs: () => out,
    /** The pids of the services (start.js's children), for signals and /proc. */
    services: () => childPids(child.pid),
    /**
     * Runs `fn` with every service's CPU profiler on when BENCH_CPU_PROF_DIR is set (profiles in
     * <dir>/<label>/<service>-<pid>.cpuprofile); just runs it otherwise.
     */
    async profile(label, fn) {
      if (!PROFILE_DIR) return fn();
      mkdirSync(join(PROFILE_DIR, label), { recursive: true });
      const pids = childPids(child.pid);
      for (const pid of pids) process.kill(pid, 'SIGWINCH');
      await sleep(200);
      try {
        return await fn();
      } finally {
        // The preload writes into BENCH_CPU_PROF_DIR: each label's profiles are moved under it.
        const before = new Set(readdirSync(PROFILE_DIR));
        for (const pid of pids) process.kill(pid, 'SIGWINCH');
        await sleep(1500);
        for (const f of readdirSync(PROFILE_DIR)) if (!before.has(f) || /\.(cpuprofile|memory\.json)$/.test(f)) moveInto(join(PROFILE_DIR, f), join(PROFILE_DIR, label, f));
      }
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await nats.stop();
      rmSync(join(tmpdir(), `${db}-sessions`), { recursive: true, force: true });
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
    },
  };
}

const PROFILE_DIR = process.env.BENCH_CPU_PROF_DIR;

function moveInto(from, to) {
  if (!/\.(cpuprofile|memory\.json)$/.test(from)) return;
  writeFileSync(to, readFileSync(from));
  rmSync(from);
}

/** Processes whose parent is `ppid`, from /proc (Linux). */
export function childPids(ppid) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      const ppidOf = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppidOf === ppid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Resident memory of a process, in bytes, from /proc. */
export function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

/** CPU time (user + system) a process has used, in ms, from /proc (clock ticks of 10 ms). */
export function cpuMsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Which service a pid runs (apps/<service>/dist/main.js in its command line). */
export function serviceOf(pid) {
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  return /apps\/([a-z-]+)\/dist\/main\.js/.exec(cmdline)?.[1] ?? String(pid);
}

/**
 * Runs `fn` and answers with its result and the CPU each of `pids` spent meanwhile, in ms, by name
 * (`name(pid)`); `postgres` sums every backend of the machine's Postgres (noisy on a shared machine).
 */
export async function cpuDuring(pids, name, fn) {
  const before = new Map(pids.map((pid) => [pid, cpuMsOf(pid)]));
  const pgBefore = postgresCpuMs();
  const result = await fn();
  const cpu = {};
  for (const pid of pids) cpu[name(pid)] = cpuMsOf(pid) - before.get(pid);
  cpu.postgres = postgresCpuMs() - pgBefore;
  return { result, cpu };
}

/**
 * Prints what `cpuDuring` measured per operation: the total over every process, then each one
 * (CPU clock ticks are 10 ms: measure a few hundred operations at least).
 */
export function printCpu(label, cpu, n) {
  const total = Object.values(cpu).reduce((a, b) => a + b, 0);
  const each = Object.entries(cpu).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / n).toFixed(2)}`);
  console.log(`  ${label}: ${(total / n).toFixed(2)} ms (${each.join(', ')})`);
}

function postgresCpuMs() {
  let sum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith('postgres')) continue;
      sum += cpuMsOf(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

/**
 * Runs `cleanup` (once) when the benchmark is interrupted (Ctrl-C, SIGTERM) and then exits, so that
 * nothing it started outlives it: without this, node ends at the signal and skips every `finally`.
 */
export function cleanupOnSignal(cleanup) {
  let done = false;
  const onSignal = (signal) => {
    if (done) return;
    done = true;
    console.error(`\n${signal}: stopping what the benchmark started`);
    Promise.resolve()
      .then(cleanup)
      .catch((error) => console.error(`cleanup failed: ${error.message}`))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // An error nothing caught (a connection reset when a service ends) would skip every `finally` too.
  process.once('uncaughtException', (error) => {
    console.error(error);
    onSignal('uncaught exception');
  });
}

/**
 * Puts `rows` hibernated sessions of one launcher straight into the sessions table: what a
 * scheduler carries most of (one per user and launcher), for measuring memory at rest.
 */
export async function seedHibernatedSessions(dbUrl, launcherId, rows) {
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    const [{ pool_id: poolId }] = (await db.query(`SELECT pool_id FROM sessions.resource_classes WHERE id = 'small'`)).rows;
    await db.query(
      `INSERT INTO sessions.sessions (user_id, launcher_id, project_id, name, status, desired_state, phase, message, image, spec,
         resource_class_id, resource_pool_id, cpu, memory_gb, gpu, disk_gb, hibernated_at, hibernation_reason)
       SELECT 'user-' || g, $1, 'bench', 'bench', 'hibernated', 'hibernated', 'hibernated', 'hibernated', 'bench/program:1',
         $2::jsonb, 'small', $3, 1, 2, 0, 10, now(), 'bench'
       FROM generate_series(1, $4) AS g`,
      [launcherId, JSON.stringify({ command: [], args: [], env: {}, port: 8888, defaultUrl: '/', workingDirectory: '/work', repositories: [] }), poolId, rows],
    );
  } finally {
    await db.end();
  }
}
