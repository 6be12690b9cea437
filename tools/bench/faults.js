#!/usr/bin/env node
// `npm run bench -- faults`: the fault-injection run of issue 12, repeatable.
//
// Two replicas of every service (gateway included), each its own process on its own port, on a
// throwaway database (each service as its own Postgres role) and a private NATS server with the
// services' own users. Meanwhile:
//   - 4 users launch, hibernate, resume and delete sessions, about one operation a second each;
//   - a whole project (6 members) starts sessions at the same moment every ~12 s, and deletes them;
//   - project membership changes in bursts (PUT/DELETE members, project renames and visibility);
//   - launchers are made, renamed and deleted; GitLab pipeline hooks arrive every second;
//   - between all that: a random service replica SIGKILLed (and started again), NATS restarted,
//     or every Postgres connection of the run's database ended (pg_terminate_backend: what a
//     Postgres restart looks like to the services; the machine's server itself is shared).
// Every HTTP answer is recorded. Once the load stops and the faults end, it waits for convergence
// and compares every read model with its source (environments' projects, members and launchers
// with sessions' and apps' catalogue_*, builds' webhook_secrets paths) and the process runtime's
// programs with the sessions table (one program per running session, none for anything else).
//
// FAILS if any answer is a 500, if a read model still differs from its source, or if a session has
// two programs or a program is orphaned. 503s (with Retry-After) are counted and printed.
//
//   BENCH_FAULT_SECONDS  load duration per run (120)
//   BENCH_RUNS           runs, each on a fresh platform (1)
//   BENCH_FAULT_EVERY_MS pause between two faults (8000)
//   BENCH_FAULT_KEEP=1   keep each run's logs directory (always kept when a run fails)
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { devSigningKey, devToken, ROOT } from '../dev/dev-key.js';
import { natsPasswords, natsServerConfig } from '../dev/nats-auth.js';
import { ensurePostgresRoles, roleOf } from '../dev/postgres-roles.js';
import { ADMIN_URL, cleanupOnSignal, freePort, sleep, workloadDataDir } from './lib.js';

const SECONDS = Number(process.env.BENCH_FAULT_SECONDS ?? 120);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const FAULT_EVERY_MS = Number(process.env.BENCH_FAULT_EVERY_MS ?? 8000);
const KEEP = process.env.BENCH_FAULT_KEEP === '1';
const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');
const SERVICES = ['environments', 'sessions', 'apps', 'builds', 'gateway'];
const WEBHOOK_SECRET = 'faults-webhook-secret-0123456789';
const rand = (n) => Math.floor(Math.random() * n);
const pick = (list) => list[rand(list.length)];
const jitter = (ms) => ms * (0.7 + Math.random() * 0.6);

// ---------------------------------------------------------------------------------------------
// The platform: two replicas of every service, NATS and a database we may restart or cut.

async function startNatsServer(dir) {
  const port = await freePort();
  const passwords = natsPasswords(['bench']);
  const configFile = join(dir, 'nats-server.conf');
  writeFileSync(configFile, natsServerConfig({ host: '127.0.0.1', port, storeDir: join(dir, 'nats-store'), passwords, unrestricted: ['bench'] }), { mode: 0o600 });
  let child;
  const nats = {
    url: `nats://127.0.0.1:${port}`,
    env: (service) => ({ NATS_URL: nats.url, NATS_USER: service, NATS_PASSWORD: passwords[service] }),
    async start() {
      child = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-c', configFile], { stdio: 'ignore' });
      for (let i = 0; i < 300; i++) {
        if (await portOpen(port)) return;
        await sleep(50);
      }
      throw new Error(`nats-server did not listen on ${port}`);
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    },
  };
  await nats.start();
  return nats;
}

async function portOpen(port) {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** One replica of one service: its own process, port and log file; started again after a kill on the same port. */
function replica(name, index, env, logDir) {
  const logFile = join(logDir, `${name}-${index}.log`);
  let child;
  const r = {
    name,
    index,
    label: `${name}#${index}`,
    port: 0,
    url: '',
    up: false,
    async start() {
      const c = spawn(process.execPath, [join(ROOT, 'apps', name, 'dist', 'main.js')], {
        // sessions and apps at info: their process runtime says there what it started, adopted and removed.
        env: { PATH: process.env.PATH ?? '', LOG_LEVEL: name === 'sessions' || name === 'apps' ? 'info' : 'warn', ...env(), PORT: String(r.port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      appendFileSync(logFile, `\n----- ${new Date().toISOString()} start pid ${c.pid}\n`);
      c.stdout.on('data', (d) => appendFileSync(logFile, d));
      c.stderr.on('data', (d) => appendFileSync(logFile, d));
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        if (c.exitCode !== null || c.signalCode !== null) throw new Error(`${r.label} exited at start (${c.exitCode ?? c.signalCode}); see ${logFile}`);
        const ready = await fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(2000) }).then((res) => res.status === 200, () => false);
        if (ready) {
          r.up = true;
          return;
        }
        await sleep(200);
      }
      c.kill('SIGKILL');
      throw new Error(`${r.label} not ready within 120 s; see ${logFile}`);
    },
    async kill(signal = 'SIGTERM') {
      r.up = false;
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((res) => c.once('exit', res));
      c.kill(signal);
      await exited;
      appendFileSync(logFile, `\n----- ${new Date().toISOString()} ${signal}\n`);
    },
  };
  return r;
}

async function startReplicatedPlatform(runDir) {
  const db = `lp_faults_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${db}`;
  const prefix = `${db}_`;
  const serviceUrls = await ensurePostgresRoles(dbUrl.toString(), { prefix, passwords: false });
  const logDir = join(runDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const nats = await startNatsServer(runDir);
  const sessionsDir = workloadDataDir('lp-faults-sessions-');
  const appsDir = workloadDataDir('lp-faults-apps-');
  const key = devSigningKey();
  const callerSecret = randomBytes(32).toString('base64url');
  const sealing = (id) => `${id}:${randomBytes(32).toString('base64')}`;
  const keys = { environments: sealing('env1'), sessions: sealing('ses1') };
  const replicas = Object.fromEntries(SERVICES.map((s) => [s, []]));
  const envOf = (name) => () => {
    const common = { ...nats.env(name), ALLOW_FILE_REPOSITORIES: 'true', ...(serviceUrls[name] ? { DATABASE_URL: serviceUrls[name] } : {}) };
    switch (name) {
      case 'environments':
        return { ...common, SECRETS_ENCRYPTION_KEYS: keys.environments };
      case 'sessions':
        return {
          ...common,
          SECRETS_ENCRYPTION_KEYS: keys.sessions,
          RUNTIME_DATA_DIR: sessionsDir,
          DEFAULT_POOL_QUOTA_CPU: '100000',
          DEFAULT_POOL_QUOTA_MEMORY_GB: '100000',
          RECONCILE_INTERVAL_MS: '2000',
          LEADER_ELECTION_INTERVAL_MS: '1000',
        };
      case 'apps':
        return { ...common, APPS_CALLER_SECRET: callerSecret, RUNTIME_DATA_DIR: appsDir, LEADER_ELECTION_INTERVAL_MS: '1000' };
      case 'builds':
        return { ...common, BUILD_JOB_NAME: 'image_build', BUILD_REGISTRY: 'registry.bench', GITLAB_URL: 'https://gitlab.bench' };
      case 'gateway':
        return { ...common, AUTH_DEV_SIGNING_KEY: key, APPS_CALLER_SECRET: callerSecret, APPS_ACTIVATOR_URL: replicas.apps.map((a) => a.url).join(',') };
      default:
        throw new Error(name);
    }
  };
  for (const name of SERVICES) {
    for (const index of [0, 1]) {
      const r = replica(name, index, envOf(name), logDir);
      r.port = await freePort();
      r.url = `http://127.0.0.1:${r.port}`;
      replicas[name].push(r);
    }
    // The first replica migrates alone; the second finds nothing to do.
    await replicas[name][0].start();
    await replicas[name][1].start();
  }
  const all = SERVICES.flatMap((s) => replicas[s]);
  return {
    db,
    dbUrl: dbUrl.toString(),
    nats,
    replicas,
    all,
    sessionsDir,
    appsDir,
    logDir,
    token: (user, isAdmin = false) => devToken({ user, admin: isAdmin, key }),
    async stop() {
      await Promise.all(all.map((r) => r.kill('SIGTERM')));
      for (const dir of [sessionsDir, appsDir]) killPrograms(dir);
      await nats.stop();
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      for (const service of Object.keys(serviceUrls)) await c.query(`DROP ROLE IF EXISTS "${roleOf(service, prefix)}"`);
      await c.end();
      rmSync(sessionsDir, { recursive: true, force: true });
      rmSync(appsDir, { recursive: true, force: true });
    },
  };
}

/** Every process whose working directory lies under `dataDir/<id>/`, by workload id and process group. */
function programsUnder(dataDir) {
  const found = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (!cwd.startsWith(`${dataDir}/`)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      const id = cwd.slice(dataDir.length + 1).split('/')[0];
      if (!found.has(id)) found.set(id, new Set());
      found.get(id).add(Number(pgrp));
      (found.details ??= []).push({ id, pid: Number(entry), pgrp: Number(pgrp), cwd, startTicks: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function killPrograms(dataDir) {
  for (const groups of programsUnder(dataDir).values()) {
    for (const pgid of groups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Every HTTP answer, by operation and status.

class Answers {
  constructor() {
    this.byOp = new Map();
    this.samples = [];
  }
  record(op, status, detail) {
    if (!this.byOp.has(op)) this.byOp.set(op, new Map());
    const m = this.byOp.get(op);
    m.set(status, (m.get(status) ?? 0) + 1);
    if ((status === 500 || (typeof status === 'number' && status > 503)) && this.samples.length < 40) this.samples.push({ at: new Date().toISOString(), op, status, detail });
  }
  byStatus() {
    const total = new Map();
    for (const m of this.byOp.values()) for (const [s, n] of m) total.set(s, (total.get(s) ?? 0) + n);
    return total;
  }
  count(status) {
    return this.byStatus().get(status) ?? 0;
  }
}

function client(platform, answers) {
  let turn = 0;
  /** The next gateway replica that is up, as a load balancer in front of them would pick it. */
  const gateway = () => {
    const up = platform.replicas.gateway.filter((g) => g.up);
    const list = up.length > 0 ? up : platform.replicas.gateway;
    return list[turn++ % list.length];
  };
  return async function call(op, method, path, token, body, headers = {}) {
    const g = gateway();
    try {
      const res = await fetch(`${g.url}/api/v1${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await res.text();
      let parsed;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      if (res.status === 503 && !res.headers.get('retry-after')) answers.record(op, '503 without Retry-After', text.slice(0, 300));
      else answers.record(op, res.status, `${g.label} ${method} ${path}: ${text.slice(0, 400)}`);
      return { status: res.status, body: parsed };
    } catch (error) {
      // A killed gateway replica cuts what it had in flight: no answer, not an answer.
      const what = error.name === 'TimeoutError' ? 'no answer in 60 s' : 'connection cut';
      answers.record(op, what, `${g.label} ${method} ${path}: ${error.message}`);
      return { status: 0, body: undefined };
    }
  };
}

// ---------------------------------------------------------------------------------------------
// The load.

const pipelineHook = (project, sha, pipelineId, status) => ({
  object_kind: 'pipeline',
  object_attributes: { id: pipelineId, iid: pipelineId, ref: 'main', tag: false, sha, before_sha: sha, source: 'push', status, stages: ['build'], created_at: '2016-08-12 15:23:28 UTC', finished_at: null, duration: null, url: `https://gitlab.bench/${project.path}/-/pipelines/${pipelineId}` },
  user: { id: 1, name: 'Administrator', username: 'root', email: 'admin@example.com' },
  project: { id: Number(project.id), name: 'faults', web_url: `https://gitlab.bench/${project.path}`, path_with_namespace: project.path, default_branch: 'main', namespace: 'bench', visibility_level: 0 },
  commit: { id: sha, message: 'faults\n', timestamp: '2016-08-12T17:23:21+02:00', author: { name: 'Bench', email: 'bench@example.com' } },
  builds: [{ id: pipelineId * 10, stage: 'build', name: 'image_build', status, created_at: '2016-08-12 15:23:28 UTC', started_at: null, finished_at: null, failure_reason: null, when: 'on_success', manual: false, allow_failure: false }],
});

async function setUp(call, tokens) {
  const admin = tokens.root;
  const must = async (what, res) => {
    if (res.status >= 300) throw new Error(`set-up: ${what} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const env = { kind: 'custom', image: 'bench/program:1', port: 8888, defaultUrl: '/', command: [process.execPath], args: [PROGRAM] };
  await must('team project', await call('setup', 'PUT', '/projects/7001', admin, { path: 'faults/team', name: 'Team', visibility: 'private' }));
  await must('churn project', await call('setup', 'PUT', '/projects/7002', admin, { path: 'faults/churn', name: 'Churn', visibility: 'private' }));
  await must('builds project', await call('setup', 'PUT', '/projects/7003', admin, { path: 'faults/builds', name: 'Builds', visibility: 'private' }));
  for (const u of [...USERS, ...BURST]) await must(`member ${u}`, await call('setup', 'PUT', `/projects/7001/members/${u}`, admin, { role: 'developer' }));
  const notebook = await must('notebook launcher', await call('setup', 'POST', '/projects/7001/launchers', tokens.u0, { name: 'Notebook', kind: 'session', environment: env }));
  const burst = await must('burst launcher', await call('setup', 'POST', '/projects/7001/launchers', tokens.u0, { name: 'Burst', kind: 'session', environment: env }));
  await must('webhook secret', await call('setup', 'PUT', '/projects/7003/webhook-secret', admin, { secret: WEBHOOK_SECRET }));
  return { notebook: notebook.id, burst: burst.id, env };
}

const USERS = ['u0', 'u1', 'u2', 'u3'];
const BURST = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'];
const CHURNERS = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'];
const ROLES = ['guest', 'reporter', 'developer', 'maintainer'];

/** Runs `step` again and again, `everyMs` apart (jittered), until `running()` says stop. */
async function loop(running, everyMs, step, counter) {
  while (running()) {
    const t = Date.now();
    await step().catch((error) => console.error(`load step failed: ${error.stack}`));
    counter.n++;
    await sleep(Math.max(0, jitter(everyMs) - (Date.now() - t)));
  }
}

function load({ call, tokens, setup, running, ops }) {
  const loops = [];
  // Four users, about one operation a second each: launch, hibernate, resume, delete.
  for (const u of USERS) {
    let id = null;
    loops.push(
      loop(running, 1000, async () => {
        if (!id) {
          const res = await call('launch', 'POST', '/sessions', tokens[u], { launcherId: setup.notebook });
          if (res.status === 201 || res.status === 200) id = res.body.id;
          else if (res.status === 409) {
            const list = await call('list', 'GET', '/sessions', tokens[u]);
            id = list.body?.items?.find((s) => s.launcherId === setup.notebook)?.id ?? null;
          }
          return;
        }
        const got = await call('get', 'GET', `/sessions/${id}`, tokens[u]);
        if (got.status === 404) return void (id = null);
        const status = got.body?.status;
        if (status === 'running') {
          if (Math.random() < 0.65) await call('hibernate', 'PATCH', `/sessions/${id}`, tokens[u], { state: 'hibernated' });
          else if ((await call('delete', 'DELETE', `/sessions/${id}`, tokens[u])).status < 300) id = null;
        } else if (status === 'hibernated') {
          if (Math.random() < 0.75) await call('resume', 'PATCH', `/sessions/${id}`, tokens[u], { state: 'running' });
          else if ((await call('delete', 'DELETE', `/sessions/${id}`, tokens[u])).status < 300) id = null;
        } else if (status === 'failed') {
          if ((await call('delete', 'DELETE', `/sessions/${id}`, tokens[u])).status < 300) id = null;
        }
      }, ops),
    );
  }
  // The whole project starts at the same moment every ~12 s, and leaves again a few seconds later.
  loops.push(
    loop(running, 12_000, async () => {
      const started = await Promise.all(BURST.map((u) => call('burst launch', 'POST', '/sessions', tokens[u], { launcherId: setup.burst })));
      await sleep(5000);
      await Promise.all(
        BURST.map(async (u, i) => {
          let id = started[i].status === 201 || started[i].status === 200 ? started[i].body.id : undefined;
          if (!id) id = (await call('list', 'GET', '/sessions', tokens[u])).body?.items?.find((s) => s.launcherId === setup.burst)?.id;
          if (id) await call('burst delete', 'DELETE', `/sessions/${id}`, tokens[u]);
        }),
      );
    }, ops),
  );
  // Membership changes in bursts, on both projects; now and then a project renamed or made
  // private/internal (the churn project) — each a versioned change the read models must follow.
  loops.push(
    loop(running, 4000, async () => {
      const burst = Array.from({ length: 6 + rand(7) }, () => {
        const project = pick(['7001', '7002']);
        const user = pick(CHURNERS);
        return Math.random() < 0.6
          ? call('member put', 'PUT', `/projects/${project}/members/${user}`, tokens.root, { role: pick(ROLES) })
          : call('member delete', 'DELETE', `/projects/${project}/members/${user}`, tokens.root);
      });
      if (Math.random() < 0.3) burst.push(call('project put', 'PUT', '/projects/7002', tokens.root, { path: `faults/churn-${rand(100)}`, name: 'Churn', visibility: pick(['private', 'internal']) }));
      await Promise.all(burst);
    }, ops),
  );
  // Launchers made, renamed and deleted (the catalogues' launcher copies and tombstones).
  const launchers = [];
  loops.push(
    loop(running, 3000, async () => {
      const r = Math.random();
      if (launchers.length < 2 || (r < 0.4 && launchers.length < 5)) {
        const res = await call('launcher create', 'POST', '/projects/7002/launchers', tokens.root, { name: `churn-${rand(1000)}`, kind: pick(['session', 'app']), environment: setup.env });
        if (res.status === 201) launchers.push(res.body.id);
      } else if (r < 0.75) {
        await call('launcher rename', 'PATCH', `/launchers/${pick(launchers)}`, tokens.root, { name: `churn-${rand(1000)}` });
      } else {
        const id = launchers.splice(rand(launchers.length), 1)[0];
        await call('launcher delete', 'DELETE', `/launchers/${id}`, tokens.root);
      }
    }, ops),
  );
  // GitLab: a pipeline hook a second (a new commit, running then succeeded); the project renamed now and then.
  const project = { id: '7003', path: 'faults/builds' };
  let pipelineId = 1000;
  loops.push(
    loop(running, 1000, async () => {
      if (Math.random() < 0.07) {
        const path = `faults/builds-${rand(100)}`;
        if ((await call('project put', 'PUT', '/projects/7003', tokens.root, { path, name: 'Builds', visibility: 'private' })).status === 200) project.path = path;
      }
      const sha = randomBytes(20).toString('hex');
      const id = ++pipelineId;
      for (const status of ['running', 'success']) {
        await call('webhook', 'POST', '/webhooks/gitlab', undefined, pipelineHook(project, sha, id, status), { 'x-gitlab-event': 'Pipeline Hook', 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': WEBHOOK_SECRET });
      }
    }, ops),
  );
  return Promise.all(loops);
}

// ---------------------------------------------------------------------------------------------
// The faults, one at a time, never both replicas of one service down at once.

async function faults(platform, running, log) {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    while (running()) {
      await sleep(jitter(FAULT_EVERY_MS));
      if (!running()) break;
      const r = Math.random();
      const t = Date.now();
      if (r < 0.6) {
        const victim = pick(platform.all);
        await victim.kill('SIGKILL');
        log.push(`${new Date().toISOString()} SIGKILL ${victim.label}`);
        await sleep(500 + rand(2500));
        await victim.start().catch((error) => log.push(`  ${victim.label} did not start again: ${error.message}`));
        log.counts.kill++;
      } else if (r < 0.8) {
        await platform.nats.stop();
        log.push(`${new Date().toISOString()} NATS stopped`);
        await sleep(1000 + rand(2000));
        await platform.nats.start();
        log.counts.nats++;
      } else {
        const { rows } = await admin.query(`SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS ended FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [platform.db]);
        log.push(`${new Date().toISOString()} Postgres: ${rows[0].ended} connections ended`);
        log.counts.postgres++;
      }
      log.push(`  (${Date.now() - t} ms)`);
    }
  } finally {
    await admin.end();
  }
}

// ---------------------------------------------------------------------------------------------
// After convergence: every read model equal to its source; one program per running session.

async function readModelDiffs(db) {
  const q = async (sql) => (await db.query(sql)).rows;
  const diffs = [];
  const compared = [];
  const compare = (what, source, copy, key, fields) => {
    compared.push(`${what} ${copy.length}/${source.length}`);
    const held = new Map(copy.map((r) => [key(r), r]));
    for (const s of source) {
      const c = held.get(key(s));
      held.delete(key(s));
      if (!c) diffs.push(`${what} ${key(s)}: missing (source ${JSON.stringify(s)})`);
      else {
        const differ = fields.filter((f) => JSON.stringify(s[f]) !== JSON.stringify(c[f]));
        if (differ.length > 0) diffs.push(`${what} ${key(s)}: ${differ.map((f) => `${f} ${JSON.stringify(c[f])} (source ${JSON.stringify(s[f])})`).join(', ')}`);
      }
    }
    for (const [k, c] of held) diffs.push(`${what} ${k}: not in the source but held ${JSON.stringify(c)}`);
  };
  const projects = await q(`SELECT id, path, visibility, repositories, version::text FROM environments.projects`);
  const members = await q(`SELECT project_id, user_id, role, version::text FROM environments.project_members`);
  const launchers = await q(`SELECT id::text, project_id, name, kind, version::text FROM environments.launchers`);
  for (const schema of ['sessions', 'apps']) {
    compare(`${schema}.catalogue_projects`, projects, await q(`SELECT id, path, visibility, repositories, version::text FROM ${schema}.catalogue_projects WHERE deleted_at IS NULL`), (r) => r.id, ['path', 'visibility', 'repositories', 'version']);
    compare(`${schema}.catalogue_members`, members, await q(`SELECT project_id, user_id, role, version::text FROM ${schema}.catalogue_members WHERE role IS NOT NULL`), (r) => `${r.project_id}/${r.user_id}`, ['role', 'version']);
    compare(`${schema}.catalogue_launchers`, launchers, await q(`SELECT id::text, project_id, name, kind, version::text FROM ${schema}.catalogue_launchers WHERE deleted_at IS NULL`), (r) => r.id, ['project_id', 'name', 'kind', 'version']);
  }
  // builds keeps the path of every project with a webhook secret.
  const secrets = await q(`SELECT project_id AS id, project_path AS path, project_version::text AS version FROM builds.webhook_secrets`);
  compare('builds.webhook_secrets', projects.filter((p) => secrets.some((s) => s.id === p.id)), secrets, (r) => r.id, ['path', 'version']);
  diffs.compared = compared.join(', ');
  return diffs;
}

async function programDiffs(db, platform) {
  const rows = (await db.query(`SELECT id::text, status, desired_state FROM sessions.sessions`)).rows;
  const byId = new Map(rows.map((r) => [r.id, r]));
  const programs = programsUnder(platform.sessionsDir);
  const diffs = [];
  const about = (id) => {
    const processes = (programs.details ?? []).filter((d) => d.id === id).map((d) => `pid ${d.pid} group ${d.pgrp} cwd ${d.cwd}`);
    let state = 'no state.json';
    try {
      const s = JSON.parse(readFileSync(join(platform.sessionsDir, id, 'state.json'), 'utf8'));
      state = `state.json: ${s.phase} pid ${s.pid} run ${s.runId}`;
    } catch {
      // none
    }
    return ` [${processes.join('; ')}; ${state}]`;
  };
  for (const [id, groups] of programs) {
    const row = byId.get(id);
    if (groups.size > 1) diffs.push(`session ${id}: ${groups.size} programs${about(id)}`);
    if (!row) diffs.push(`program of session ${id}: orphaned, no such session${about(id)}`);
    else if (row.desired_state !== 'running') diffs.push(`program of session ${id}: orphaned, the session is ${row.status} (desired ${row.desired_state})${about(id)}`);
  }
  for (const r of rows) if (r.desired_state === 'running' && r.status === 'running' && !programs.has(r.id)) diffs.push(`session ${r.id}: running, but no program`);
  for (const r of rows) if (!['running', 'hibernated', 'failed'].includes(r.status) || r.desired_state === 'deleted') diffs.push(`session ${r.id}: still ${r.status} (desired ${r.desired_state})`);
  // A directory without a session is an orphan too (a deleted session's files must go).
  for (const entry of readdirSync(platform.sessionsDir, { withFileTypes: true })) {
    if (entry.isDirectory() && /^[0-9a-f-]{36}$/.test(entry.name) && !byId.has(entry.name)) diffs.push(`directory of session ${entry.name}: orphaned, no such session`);
  }
  // No app was woken: the apps runtime runs nothing.
  for (const [id, groups] of programsUnder(platform.appsDir)) diffs.push(`app workload ${id}: ${groups.size} program(s) running, none expected`);
  const statuses = {};
  for (const r of rows) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  diffs.compared = `${rows.length} sessions (${Object.entries(statuses).map(([s, c]) => `${s} ${c}`).join(', ') || 'none'}), ${programs.size} with programs`;
  return diffs;
}

async function converge(platform, what, probe, timeoutMs) {
  const db = new pg.Client({ connectionString: platform.dbUrl });
  await db.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    const started = Date.now();
    for (;;) {
      const diffs = await probe(db);
      if (diffs.length === 0 || Date.now() > deadline) {
        console.log(`${what}: ${diffs.length === 0 ? `equal after ${((Date.now() - started) / 1000).toFixed(0)} s` : `${diffs.length} difference(s) after ${timeoutMs / 1000} s`} [${diffs.compared}]`);
        for (const d of diffs.slice(0, 40)) console.log(`  ${d}`);
        if (diffs.length > 40) console.log(`  ... and ${diffs.length - 40} more`);
        return diffs;
      }
      await sleep(2000);
    }
  } finally {
    await db.end();
  }
}

// ---------------------------------------------------------------------------------------------

async function oneRun(n) {
  const runDir = mkdtempSync(join(tmpdir(), `lp-faults-run${n}-`));
  console.log(`\n--- run ${n}/${RUNS}: two replicas of every service, ${SECONDS} s of load and faults (logs in ${runDir}/logs)`);
  const t0 = Date.now();
  const platform = await startReplicatedPlatform(runDir);
  console.log(`platform up in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  current = platform;
  const answers = new Answers();
  const call = client(platform, answers);
  const tokens = Object.fromEntries(await Promise.all(['root', ...USERS, ...BURST, ...CHURNERS].map(async (u) => [u, await platform.token(u, u === 'root')])));
  let failed = false;
  try {
    const setup = await setUp(call, tokens);
    const log = Object.assign([], { counts: { kill: 0, nats: 0, postgres: 0 } });
    const ops = { n: 0 };
    const end = Date.now() + SECONDS * 1000;
    const running = () => Date.now() < end;
    await Promise.all([load({ call, tokens, setup, running, ops }), faults(platform, running, log)]);
    // Anything a fault left down comes back before convergence is judged.
    for (const r of platform.all) if (!r.up) await r.start();
    writeFileSync(join(runDir, 'faults.log'), log.join('\n') + '\n');
    const statuses = [...answers.byStatus()].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    const total = statuses.reduce((s, [, c]) => s + c, 0);
    console.log(`load: ${ops.n} load steps, ${total} HTTP requests; faults: ${log.counts.kill} SIGKILLs, ${log.counts.nats} NATS restarts, ${log.counts.postgres} Postgres connection cuts (${runDir}/faults.log)`);
    console.log(`answers by status: ${statuses.map(([s, c]) => `${s}: ${c}`).join(', ')}`);
    for (const [op, m] of answers.byOp) console.log(`  ${op.padEnd(16)} ${[...m].sort().map(([s, c]) => `${s}: ${c}`).join(', ')}`);
    const five = answers.count(500);
    console.log(`500s: ${five}; 503s (Retry-After): ${answers.count(503)}`);
    for (const s of answers.samples) console.log(`  ${s.at} ${s.op} ${s.status}: ${s.detail}`);
    const readModels = await converge(platform, 'read models vs their source', readModelDiffs, 120_000);
    const programs = await converge(platform, 'programs vs sessions', (db) => programDiffs(db, platform), 120_000);
    const without = answers.count('503 without Retry-After');
    failed = five > 0 || without > 0 || readModels.length > 0 || programs.length > 0;
    console.log(`run ${n}: ${failed ? 'FAILED' : 'passed'} (500s ${five}, 503s ${answers.count(503)}, read-model differences ${readModels.length}, program differences ${programs.length})`);
    return { failed, fives: five, threes: answers.count(503), readModels: readModels.length, programs: programs.length, total };
  } catch (error) {
    failed = true;
    console.error(`run ${n} broke: ${error.stack}`);
    return { failed, broke: true };
  } finally {
    current = undefined;
    await platform.stop().catch((error) => console.error(`stopping the platform: ${error.message}`));
    if (failed || KEEP) console.log(`logs kept in ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true });
  }
}

let current;
cleanupOnSignal(async () => current?.stop());
const results = [];
for (let n = 1; n <= RUNS; n++) results.push(await oneRun(n));
console.log(`\nfaults: ${results.filter((r) => !r.failed).length} of ${RUNS} run(s) passed`);
process.exit(results.some((r) => r.failed) ? 1 : 0);
