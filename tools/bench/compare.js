#!/usr/bin/env node
// `npm run bench -- compare`: Launchpad beside what a user would pick instead, in the same run on
// the same machine, as ratios against the goals of issue 13. Each row is measured BENCH_RUNS times
// (3) and the median of the runs is reported (the machine is shared and noisy: ratios within one
// run mean more than the figures).
//   API:      GET /api/v1/environments beside JupyterHub's GET /hub/api/users, c=1 and c=16
//   NATS:     raw request-reply beside our RPC (environments.rpc.environment.list, no gateway);
//             raw JetStream publish beside a GitLab webhook ingested (gateway -> builds), with
//             the CPU each delivery cost in every process (services and Postgres)
//   proxies:  one upstream (an app replica; a session's program) straight, through a bare
//             node:http keep-alive proxy, through configurable-http-proxy, and through ours
//             (activator, share link via the gateway; session proxy via the gateway), c=1 and c=50
//   launch:   request -> running of an instant-ready program, 1 at a time and 50 at once, beside
//             JupyterHub with a local process spawner running the same program; minus the
//             program's own start (bare, in the same run)
//   memory:   the sessions service and JupyterHub's hub, idle and with sessions/servers
// Installs nothing: an anchor that is missing is named with how to install it, and its rows skipped.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { signCaller } from '@launchpad/contracts';
import { appsCallerSecret, devSigningKey, devToken, ROOT } from '../dev/dev-key.js';
import { JUPYTERHUB_PROGRAM, missingAnchors, startBareProxy, startChp, startJupyterHub } from './anchors.js';
import { bareStart, cleanupOnSignal, cpuDuring, inTurns, pct, rssOf, serviceOf, sleep, startPlatform, seedHibernatedSessions, workloadDataDir } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const API_N = Number(process.env.BENCH_API_REQUESTS ?? 2000);
const PROXY_N = Number(process.env.BENCH_PROXY_REQUESTS ?? 5000);
const LAUNCHES = Number(process.env.BENCH_SESSION_LAUNCHES ?? 10);
const CONCURRENT = Number(process.env.BENCH_SESSION_CONCURRENCY ?? 50);
const WEBHOOKS = Number(process.env.BENCH_WEBHOOKS ?? 1000);
const SESSION_ROWS = Number(process.env.BENCH_SESSION_ROWS ?? 10_000);
/** BENCH_ONLY=api,webhooks,proxies,launches,memory: only these sections (all when unset), to iterate on one path. */
const ONLY = new Set((process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const want = (section) => ONLY.size === 0 || ONLY.has(section);
// One user per launch of a round (a user has one session per launcher), the warm-up's three included.
const USERS = Math.max(CONCURRENT, LAUNCHES, 3);
const SESSION_PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');
const APP_PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'app-program.mjs');

// --- measuring ------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
/** The one clean-up of this run (see cleanup), whether it ends, fails or is interrupted. */
let cleaning;
/** GET over a keep-alive connection to 127.0.0.1 (whatever host the URL names: `*.localhost` origins). */
function get(url, headers = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: u.port, path: `${u.pathname}${u.search}`, headers: { host: u.host, ...headers }, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    // A hung request would hang the whole run: name it instead.
    req.setTimeout(30_000, () => req.destroy(new Error(`${url}: no answer within 30 s`)));
    req.end();
  });
}
/** `headers` may be a function, for headers that must be new on every request (a signed caller). */
const ok = (url, headers) =>
  get(url, typeof headers === 'function' ? headers() : headers).then((r) => {
    if (r.status !== 200) throw new Error(`${url}: ${r.status} ${r.body.slice(0, 200)}`);
    return r;
  });

/** n operations, `concurrency` in flight: p50, p99 (ms) and throughput (per s). */
async function run(n, concurrency, op) {
  const latencies = [];
  const started = performance.now();
  await inTurns(n, concurrency, async (i) => {
    const t = performance.now();
    await op(i);
    latencies.push(performance.now() - t);
  });
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { p50: pct(latencies, 50), p99: pct(latencies, 99), perSecond: n / seconds };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** RUNS runs of `measure`; the median of each figure. */
async function medianOf(measure) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await measure(i));
  const out = {};
  for (const key of Object.keys(runs[0])) out[key] = median(runs.map((r) => r[key]));
  return out;
}


/**
 * One proxy row, and at c=50 the CPU each process serving it spent per request (µs): ours (the
 * gateway, the apps service) or the anchor's own process. CPU per request holds up on a noisy
 * machine better than requests per second.
 */
async function proxyRow(label, n, c, op, cpuOf) {
  if (c === 1 || !cpuOf) return row(label, await medianOf(() => run(n, c, op)));
  // With BENCH_CPU_PROF_DIR, every service's CPU profile of the rows through ours is in <dir>/<row>.
  const ours = cpuOf.shown.some((s) => !['bare proxy', 'configurable-http-proxy'].includes(s));
  const measure = () => medianOf(() => run(n, c, op));
  const { result, cpu } = await cpuDuring(cpuOf.pids, cpuOf.name, () => (ours ? platform.profile(label.replace(/[^a-z0-9]+/gi, '-'), measure) : measure()));
  const r = row(label, result);
  console.log(`  CPU per request: ${Object.entries(cpu).filter(([k]) => cpuOf.shown.includes(k)).map(([k, v]) => `${k} ${Math.round((v / (n * RUNS)) * 1000)} µs`).join(', ')}`);
  return r;
}

const rows = [];
const goals = [];
function row(label, r) {
  rows.push({ label, ...r });
  const rate = r.perSecond === undefined ? '' : `  ${r.perSecond.toFixed(0).padStart(6)}/s`;
  console.log(`${label.padEnd(58)} p50 ${r.p50.toFixed(2).padStart(8)} ms  p99 ${r.p99.toFixed(2).padStart(8)} ms${rate}`);
  return r;
}
function goal(text, value, target, met) {
  goals.push({ text, value, target, met });
  console.log(`  ${met ? 'MET    ' : 'NOT MET'}  ${text}: ${value} (goal ${target})`);
}
const x = (n) => `x${n.toFixed(2)}`;
const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const strip = (p) => p.replace(/\/$/, '');

// --- setup ----------------------------------------------------------------------------------

const missing = missingAnchors();
for (const m of missing) console.log(`anchor missing, its rows are skipped: ${m}`);
const haveHub = !missing.some((m) => m.startsWith('JupyterHub'));
const haveChp = !missing.some((m) => m.startsWith('configurable-http-proxy'));

const dataDir = workloadDataDir('lp-bench-compare-');
const platform = await startPlatform({
  RUNTIME_DATA_DIR: join(dataDir, 'sessions'),
  APPS_RUNTIME_DATA_DIR: join(dataDir, 'apps'),
  DEFAULT_POOL_QUOTA_CPU: '100000',
  DEFAULT_POOL_QUOTA_MEMORY_GB: '100000',
  BUILD_JOB_NAME: 'image_build',
  BUILD_REGISTRY: 'registry.bench',
  GITLAB_URL: 'https://gitlab.bench',
});
const stops = [];
let hub = null;
let nc = null;
cleanupOnSignal(() => cleanup());
hub = haveHub ? await startJupyterHub({ program: JUPYTERHUB_PROGRAM }) : null;
const key = devSigningKey();
const auth = { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json' };
const api = async (path, init = {}) => {
  const res = await fetch(`${platform.api}${path}`, { headers: auth, ...init });
  const body = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
};
const hubApi = async (path, init = {}) => {
  const res = await fetch(`${hub.api}${path}`, { ...init, headers: { ...hub.headers, 'content-type': 'application/json' } });
  if (!res.ok && res.status !== 202) throw new Error(`JupyterHub ${path}: ${res.status} ${await res.text()}`);
  return res;
};
nc = await connect({ servers: platform.natsUrl });
const services = () => platform.services();
/** Which processes' CPU a proxy row shows (`shown`: service names, 'bare proxy', 'configurable-http-proxy'). */
const cpuOf = (shown, bare, chp) =>
  shown.length === 0
    ? null
    : {
        pids: [...services(), bare.pid, ...(chp ? [chp.pid] : [])],
        name: (pid) => (pid === bare.pid ? 'bare proxy' : chp && pid === chp.pid ? 'configurable-http-proxy' : serviceOf(pid)),
        shown,
      };

try {
  console.log(`\nLaunchpad beside JupyterHub, configurable-http-proxy and a bare node:http proxy: medians of ${RUNS} runs\n`);
  await api('/projects/bench', { method: 'PUT', body: JSON.stringify({ path: 'bench/compare', name: 'Bench', visibility: 'public' }) });

  // --- API ----------------------------------------------------------------------------------
  if (want('api')) {
    console.log('API, one request at a time and 16 in flight');
    // JupyterHub lists its users here: none yet (they are made for the launches), its smallest answer.
    const ours = `${platform.api}/environments`;
    const bearer = { authorization: `Bearer ${platform.token}` };
    await run(500, 16, () => ok(ours, bearer));
    if (hub) await run(500, 16, () => ok(`${hub.api}/users`, hub.headers));
    const api1 = row('GET /api/v1/environments, c=1', await medianOf(() => run(Math.min(API_N, 500), 1, () => ok(ours, bearer))));
    // With BENCH_CPU_PROF_DIR, every service's CPU profile of these runs is in <dir>/api-c16.
    const apiCpu = await cpuDuring(services(), serviceOf, () => platform.profile('api-c16', () => medianOf(() => run(API_N, 16, () => ok(ours, bearer)))));
    const api16 = row('GET /api/v1/environments, c=16', apiCpu.result);
    const perRequest = (ms) => (ms / (API_N * RUNS)).toFixed(2);
    console.log(`  CPU per request: ${Object.entries(apiCpu.cpu).filter(([, v]) => v / (API_N * RUNS) >= 0.01).map(([k, v]) => `${k} ${perRequest(v)} ms`).join(', ')}`);
    if (hub) {
      const hub1 = row('JupyterHub GET /hub/api/users, c=1', await medianOf(() => run(Math.min(API_N, 500), 1, () => ok(`${hub.api}/users`, hub.headers))));
      const hub16 = row('JupyterHub GET /hub/api/users, c=16', await medianOf(() => run(API_N, 16, () => ok(`${hub.api}/users`, hub.headers))));
      goal('API throughput at c=16 / JupyterHub REST', x(api16.perSecond / hub16.perSecond), '≥ x2', api16.perSecond >= 2 * hub16.perSecond);
      console.log(`  c=1 p50: ours ${api1.p50.toFixed(2)} ms, JupyterHub ${hub1.p50.toFixed(2)} ms`);
    }
    goal('API throughput at c=16', `${api16.perSecond.toFixed(0)}/s`, '≥ 2000/s', api16.perSecond >= 2000);
    goal('API p99 at c=16', `${api16.p99.toFixed(1)} ms`, '≤ 20 ms', api16.p99 <= 20);
  }

  // --- NATS: RPC and ingest -----------------------------------------------------------------
  if (want('webhooks')) {
    console.log('\nRPC and webhook ingest beside raw NATS (8 in flight)');
    const echo = `bench.echo.${randomBytes(3).toString('hex')}`;
    nc.subscribe(echo, { callback: (_e, m) => m.respond(m.data) });
    const listPayload = JSON.stringify({ caller: { userId: 'alice', admin: true }, query: {} });
    const raw = row('raw NATS request-reply', await medianOf(() => run(API_N, 8, () => nc.request(echo, listPayload, { timeout: 5000 }))));
    const rpc = row('RPC environments.rpc.environment.list (no gateway)', await medianOf(() => run(API_N, 8, () => nc.request('environments.rpc.environment.list', listPayload, { timeout: 5000 }))));
    console.log(`  RPC / raw request-reply: p50 ${x(rpc.p50 / raw.p50)}, throughput ${x(rpc.perSecond / raw.perSecond)}`);

    const SECRET = 'bench-webhook-secret-0123456789';
    const PROJECT = { id: 424242, path: 'bench/builds' };
    await api(`/projects/${PROJECT.id}`, { method: 'PUT', body: JSON.stringify({ path: PROJECT.path, name: 'Bench builds', visibility: 'private' }) });
    await api(`/projects/${PROJECT.id}/webhook-secret`, { method: 'PUT', body: JSON.stringify({ secret: SECRET }) });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const rawStream = `BENCH_${randomBytes(3).toString('hex').toUpperCase()}`;
    await jsm.streams.add({ name: rawStream, subjects: [`${rawStream.toLowerCase()}.>`] });
    let pipeline = 1000;
    const hook = () => {
      const sha = randomBytes(20).toString('hex');
      const id = ++pipeline;
      return {
        object_kind: 'pipeline',
        object_attributes: { id, iid: id, ref: 'main', tag: false, sha, before_sha: sha, source: 'push', status: 'running', stages: ['build'], created_at: '2016-08-12 15:23:28 UTC', finished_at: null, duration: null, url: `https://gitlab.bench/${PROJECT.path}/-/pipelines/${id}` },
        user: { id: 1, name: 'Administrator', username: 'root', email: 'admin@example.com' },
        project: { id: PROJECT.id, name: 'builds', web_url: `https://gitlab.bench/${PROJECT.path}`, path_with_namespace: PROJECT.path, default_branch: 'main', namespace: 'bench', visibility_level: 0 },
        commit: { id: sha, message: 'bench\n', timestamp: '2016-08-12T17:23:21+02:00', author: { name: 'Bench', email: 'bench@example.com' } },
        builds: [{ id: id * 10, stage: 'build', name: 'image_build', status: 'running', created_at: '2016-08-12 15:23:28 UTC', started_at: null, finished_at: null, failure_reason: null, when: 'on_success', manual: false, allow_failure: false }],
      };
    };
    const deliver = async () => {
      const r = await fetch(`${platform.api}/webhooks/gitlab`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Pipeline Hook', 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': SECRET },
        body: JSON.stringify(hook()),
      });
      if (r.status !== 200) throw new Error(`webhook answered ${r.status}: ${await r.text()}`);
      await r.text();
    };
    await run(100, 8, deliver);
    const rawPub = row('raw JetStream publish + ack', await medianOf((i) => run(WEBHOOKS, 8, (j) => js.publish(`${rawStream.toLowerCase()}.x`, JSON.stringify(hook()), { msgID: `${rawStream}-${i}-${j}` }))));
    const cpuPerDelivery = [];
    const ingest = row(
      'GitLab pipeline hook applied (200 from the gateway)',
      // With BENCH_CPU_PROF_DIR, every service's CPU profile of these runs is in <dir>/webhooks.
      await platform.profile('webhooks', () => medianOf(async () => {
        const { result, cpu } = await cpuDuring(services(), serviceOf, () => run(WEBHOOKS, 8, deliver));
        const total = Object.values(cpu).reduce((a, b) => a + b, 0) / WEBHOOKS;
        cpuPerDelivery.push({ total, ...Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / WEBHOOKS])) });
        return result;
      })),
    );
    const cpu = median(cpuPerDelivery.map((c) => c.total));
    const cpuRun = cpuPerDelivery.find((c) => c.total === cpu);
    console.log(`  CPU per delivery: ${cpu.toFixed(2)} ms (${Object.entries(cpuRun).filter(([k, v]) => k !== 'total' && v >= 0.01).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})`);
    console.log(`  ingest / raw publish: throughput ${x(ingest.perSecond / rawPub.perSecond)}`);
    goal('webhook deliveries applied', `${ingest.perSecond.toFixed(0)}/s`, '≥ 1000/s', ingest.perSecond >= 1000);
    goal('CPU per applied delivery, every process', `${cpu.toFixed(2)} ms`, '≤ 2 ms', cpu <= 2);
    await jsm.streams.delete(rawStream);
  }

  // --- proxies ------------------------------------------------------------------------------
  const proxyRows = async (name, upstream, ourWays) => {
    const bare = await startBareProxy(upstream);
    stops.push(bare.stop);
    const chp = haveChp ? await startChp(upstream) : null;
    if (chp) stops.push(chp.stop);
    const ways = [
      ['straight to it', upstream, {}, []],
      ['bare node:http keep-alive proxy', bare.url, {}, ['bare proxy']],
      ...(chp ? [['configurable-http-proxy', chp.url, {}, ['configurable-http-proxy']]] : []),
      ...ourWays,
    ];
    const figures = {};
    for (const [way, base, headers] of ways) await run(300, 50, () => ok(`${base}/`, headers));
    for (const c of [1, 50]) {
      for (const [way, base, headers, shown] of ways) {
        figures[`${way} ${c}`] = await proxyRow(`${name}: ${way}, c=${c}`, c === 1 ? Math.min(PROXY_N, 1000) : PROXY_N, c, () => ok(`${base}/`, headers), cpuOf(shown, bare, chp));
      }
    }
    for (const [way] of ourWays) {
      const ours50 = figures[`${way} 50`];
      const bare50 = figures['bare node:http keep-alive proxy 50'];
      goal(`${name} ${way}: throughput / bare proxy, c=50`, x(ours50.perSecond / bare50.perSecond), '≥ x0.9', ours50.perSecond >= 0.9 * bare50.perSecond);
      if (chp) {
        const chp50 = figures['configurable-http-proxy 50'];
        goal(`${name} ${way}: throughput / configurable-http-proxy, c=50`, x(ours50.perSecond / chp50.perSecond), '≥ x3', ours50.perSecond >= 3 * chp50.perSecond);
      }
      const added = (figures[`${way} 1`].p50 - figures['bare node:http keep-alive proxy 1'].p50) * 1000;
      goal(`${name} ${way}: added latency over the bare proxy, c=1 p50`, `${added.toFixed(0)} µs`, '≤ 150 µs', added <= 150);
    }
    await bare.stop();
    await chp?.stop();
  };

  // An app kept warm with one replica, and its share link.
  if (want('proxies')) {
    console.log('\nProxies: the same upstream straight, through a bare node:http proxy, configurable-http-proxy and ours');
    const appLauncher = await api('/projects/bench/launchers', {
      method: 'POST',
      body: JSON.stringify({ name: 'warm', kind: 'app', environment: { kind: 'custom', image: 'bench/app:1', port: 8000, command: [process.execPath], args: [APP_PROGRAM] } }),
    });
    const warmApp = await api(`/apps/${appLauncher.id}/activate`, { method: 'POST', body: JSON.stringify({ minReplicas: 1, maxReplicas: 1, targetConcurrency: 1000 }) });
    for (let s = await api(`/apps/${appLauncher.id}`); s.readyReplicas < 1; s = await api(`/apps/${appLauncher.id}`)) {
      if (s.status === 'failed') throw new Error(`the warm app failed to start: ${s.message}`);
      await sleep(100);
    }
    const replicaDir = readdirSync(join(dataDir, 'apps')).find((d) => d.includes(appLauncher.id));
    const { port: replicaPort } = JSON.parse(readFileSync(join(dataDir, 'apps', replicaDir, 'state.json'), 'utf8'));
    // Straight to the activator, each request signed as the gateway signs it (a fresh nonce each:
    // the activator takes a signature once); the share link on the app's own origin.
    const callerSecret = appsCallerSecret();
    const activatorPath = `/a/${warmApp.slug}/`;
    await proxyRows('app', `http://127.0.0.1:${replicaPort}`, [
      ['activator', `http://127.0.0.1:${platform.ports.apps}${strip(activatorPath)}`, () => signCaller(callerSecret, null, 'GET', activatorPath), ['apps']],
      ['share link via the gateway', strip(warmApp.url), {}, ['gateway', 'apps']],
    ]);
    await api(`/apps/${appLauncher.id}/deactivate`, { method: 'POST' });
  }

  // A session of the same kind of program, reached through the gateway with its cookie.
  const sessionLauncher = await api('/projects/bench/launchers', {
    method: 'POST',
    body: JSON.stringify({ name: 'bench', kind: 'session', environment: { kind: 'custom', image: 'bench/program:1', port: 8888, command: [process.execPath], args: [SESSION_PROGRAM] } }),
  });
  const launch = async (headers) => {
    const session = await (await fetch(`${platform.api}/sessions`, { method: 'POST', headers, body: JSON.stringify({ launcherId: sessionLauncher.id }) })).json();
    if (!session.id) throw new Error(`launch refused: ${JSON.stringify(session)}`);
    const res = await fetch(`${platform.api}/sessions/${session.id}/events`, { headers: { ...headers, accept: 'text/event-stream' } });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the event stream of session ${session.id} ended before it was ready`);
        text += decoder.decode(value, { stream: true });
        if (text.includes('"phase":"ready"')) return session.id;
        if (text.includes('"phase":"failed"')) throw new Error(`session ${session.id} failed: ${text}`);
      }
    } finally {
      await reader.cancel();
    }
  };
  if (want('proxies')) {
    const sessionId = await launch(auth);
    const session = await api(`/sessions/${sessionId}`);
    const sessionUrl = new URL(session.url, platform.gateway);
    const exchange = await get(`${sessionUrl.href}${sessionUrl.search ? '&' : '?'}token=${platform.token}`);
    const cookie = (exchange.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    if (!cookie) throw new Error(`the gateway set no session cookie (${exchange.status}) for ${sessionUrl.href}`);
    const sessionState = readdirSync(join(dataDir, 'sessions')).find((d) => d.includes(sessionId));
    const { port: programPort } = JSON.parse(readFileSync(join(dataDir, 'sessions', sessionState, 'state.json'), 'utf8'));
    const programBase = `http://127.0.0.1:${programPort}${strip(sessionUrl.pathname)}`;
    // The bare and configurable-http-proxy rows reach the program at the same path as the gateway.
    const proxied = (base) => `${base}${strip(sessionUrl.pathname)}`;
    {
      const bare = await startBareProxy(`http://127.0.0.1:${programPort}`);
      const chp = haveChp ? await startChp(`http://127.0.0.1:${programPort}`) : null;
      stops.push(bare.stop, ...(chp ? [chp.stop] : []));
      const ways = [
        ['straight to it', programBase, {}, []],
        ['bare node:http keep-alive proxy', proxied(bare.url), {}, ['bare proxy']],
        ...(chp ? [['configurable-http-proxy', proxied(chp.url), {}, ['configurable-http-proxy']]] : []),
        ['session proxy via the gateway', `${sessionUrl.origin}${strip(sessionUrl.pathname)}`, { cookie }, ['gateway']],
      ];
      const figures = {};
      for (const [, base, headers] of ways) await run(300, 50, () => ok(`${base}/`, headers));
      for (const c of [1, 50]) {
        for (const [way, base, headers, shown] of ways) {
          figures[`${way} ${c}`] = await proxyRow(`session: ${way}, c=${c}`, c === 1 ? Math.min(PROXY_N, 1000) : PROXY_N, c, () => ok(`${base}/`, headers), cpuOf(shown, bare, chp));
        }
      }
      const ours50 = figures['session proxy via the gateway 50'];
      const bare50 = figures['bare node:http keep-alive proxy 50'];
      goal('session proxy: throughput / bare proxy, c=50', x(ours50.perSecond / bare50.perSecond), '≥ x0.9', ours50.perSecond >= 0.9 * bare50.perSecond);
      if (chp) goal('session proxy: throughput / configurable-http-proxy, c=50', x(ours50.perSecond / figures['configurable-http-proxy 50'].perSecond), '≥ x3', ours50.perSecond >= 3 * figures['configurable-http-proxy 50'].perSecond);
      const added = (figures['session proxy via the gateway 1'].p50 - figures['bare node:http keep-alive proxy 1'].p50) * 1000;
      goal('session proxy: added latency over the bare proxy, c=1 p50', `${added.toFixed(0)} µs`, '≤ 150 µs', added <= 150);
      await bare.stop();
      await chp?.stop();
    }
    await fetch(`${platform.api}/sessions/${sessionId}`, { method: 'DELETE', headers: auth });
  }

  // --- launches -----------------------------------------------------------------------------
  if (want('launches')) {
    console.log('\nLaunches of an instant-ready program: request to running, minus the program alone');
    if (hub) await hubApi('/users', { method: 'POST', body: JSON.stringify({ usernames: Array.from({ length: USERS }, (_, i) => `bench-${i}`) }) });
    const programAlone = () => bareStart(SESSION_PROGRAM, (port) => ({ LAUNCHPAD_PORT: String(port), LAUNCHPAD_BASE_URL: '/' }));
    const users = await Promise.all(Array.from({ length: USERS }, (_, i) => devToken({ user: `bench-${i}`, key })));
    const headersOf = (i) => ({ authorization: `Bearer ${users[i]}`, 'content-type': 'application/json' });
    const ourLaunches = async (n, concurrency) => {
      const times = [];
      const ids = [];
      await inTurns(n, concurrency, async (i) => {
        const t = performance.now();
        ids.push({ id: await launch(headersOf(i)), i });
        times.push(performance.now() - t);
      });
      return { times, ids };
    };
    const tidyOurs = async (ids) => {
      await Promise.all(ids.map(({ id, i }) => fetch(`${platform.api}/sessions/${id}`, { method: 'DELETE', headers: headersOf(i) })));
      for (const { id, i } of ids) while ((await fetch(`${platform.api}/sessions/${id}`, { headers: headersOf(i) })).status !== 404) await sleep(100);
    };
    const hubLaunches = async (n, concurrency) => {
      const times = [];
      await inTurns(n, concurrency, async (i) => {
        const name = `bench-${i}`;
        const t = performance.now();
        const res = await hubApi(`/users/${name}/server`, { method: 'POST' });
        if (res.status === 202) {
          // Pending: follow its progress (server-sent events) until it is ready, as a browser would.
          const progress = await fetch(`${hub.api}/users/${name}/server/progress`, { headers: hub.headers });
          const reader = progress.body.getReader();
          const decoder = new TextDecoder();
          let text = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            text += decoder.decode(value, { stream: true });
            if (text.includes('"ready": true')) break;
            if (text.includes('"failed": true')) throw new Error(`JupyterHub failed to start ${name}: ${text}`);
          }
          await reader.cancel();
        } else await res.text();
        times.push(performance.now() - t);
      });
      return times;
    };
    const tidyHub = async (n) => {
      await Promise.all(Array.from({ length: n }, (_, i) => hubApi(`/users/bench-${i}/server`, { method: 'DELETE' }).then((r) => r.text())));
      for (let i = 0; i < n; i++) {
        for (;;) {
          const u = await (await hubApi(`/users/bench-${i}`)).json();
          if (!u.servers?.['']) break;
          await sleep(100);
        }
      }
    };
    // Warm-up: JIT, pools, first clones.
    await tidyOurs((await ourLaunches(3, 1)).ids);
    if (hub) {
      await hubLaunches(3, 1);
      await tidyHub(3);
    }
    const launchRounds = async (n, concurrency, label) => {
      const alone = [];
      for (let i = 0; i < Math.min(n, 10); i++) alone.push(await programAlone());
      const program = concurrency === 1 ? median(alone) : median(await Promise.all(Array.from({ length: concurrency }, () => programAlone())));
      // The control plane's CPU for them (the services and Postgres; not the programs, nor what they exec to start).
      // With BENCH_CPU_PROF_DIR, every service's CPU profile of them is in <dir>/launches-c<concurrency>.
      const { result: o, cpu } = await cpuDuring(services(), serviceOf, () => platform.profile(`launches-c${concurrency}`, () => ourLaunches(n, concurrency)));
      const ourRss = concurrency > 1 ? rssOf(services().find((p) => serviceOf(p) === 'sessions')) : undefined;
      await tidyOurs(o.ids);
      const h = hub ? await hubLaunches(n, concurrency) : null;
      const hubRss = hub && concurrency > 1 ? rssOf(hub.pid) : undefined;
      if (hub) await tidyHub(n);
      const sorted = (xs) => [...xs].sort((a, b) => a - b);
      return {
        program,
        ours: pct(sorted(o.times), 50),
        oursP99: pct(sorted(o.times), 99),
        hub: h ? pct(sorted(h), 50) : NaN,
        hubP99: h ? pct(sorted(h), 99) : NaN,
        ourRss,
        hubRss,
        cpuPerLaunch: Object.values(cpu).reduce((x, y) => x + y, 0) / n,
        cpuSplit: Object.entries(cpu).filter(([, v]) => v > 0).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${(v / n).toFixed(1)}`).join(', '),
        label,
      };
    };
    for (const [n, c] of [
      [LAUNCHES, 1],
      [CONCURRENT, CONCURRENT],
    ]) {
      const r = await medianOf(() => launchRounds(n, c));
      const what = c === 1 ? '1 at a time' : `${c} at once`;
      console.log(`${`program alone (${what})`.padEnd(58)} p50 ${r.program.toFixed(0).padStart(8)} ms`);
      console.log(`${`Launchpad launch, ${what}: request to running`.padEnd(58)} p50 ${r.ours.toFixed(0).padStart(8)} ms  p99 ${r.oursP99.toFixed(0).padStart(8)} ms  overhead p50 ${(r.ours - r.program).toFixed(0)} ms`);
      if (hub) {
        console.log(`${`JupyterHub launch, ${what}: request to ready`.padEnd(58)} p50 ${r.hub.toFixed(0).padStart(8)} ms  p99 ${r.hubP99.toFixed(0).padStart(8)} ms  overhead p50 ${(r.hub - r.program).toFixed(0)} ms`);
        const ratio = (r.ours - r.program) / (r.hub - r.program);
        const target = c === 1 ? 0.5 : 0.2;
        goal(`launch overhead / JupyterHub's, ${what}`, x(ratio), `≤ x${target}`, ratio <= target);
      }
      console.log(`  control-plane CPU per launch: ${r.cpuPerLaunch.toFixed(1)} ms${RUNS === 1 ? ` (${r.cpuSplit})` : ''}`);
      if (r.ourRss) console.log(`  RSS with ${c} running: sessions service ${mb(r.ourRss)}${r.hubRss ? `, JupyterHub's hub ${mb(r.hubRss)}` : ''}`);
    }
  }

  // --- memory -------------------------------------------------------------------------------
  if (want('memory')) {
    console.log('\nMemory');
    const sessionsPid = services().find((p) => serviceOf(p) === 'sessions');
    const idle = rssOf(sessionsPid);
    console.log(`${'sessions service RSS, no sessions'.padEnd(58)} ${mb(idle)}`);
    if (hub) console.log(`${"JupyterHub's hub RSS, idle".padEnd(58)} ${mb(rssOf(hub.pid))}`);
    await seedHibernatedSessions(platform.dbUrl, sessionLauncher.id, SESSION_ROWS);
    await sleep(15_000); // reconciler passes and resyncs over every row
    const full = rssOf(sessionsPid);
    console.log(`${`sessions service RSS, ${SESSION_ROWS} sessions in its tables`.padEnd(58)} ${mb(full)}`);
    goal(`sessions service RSS with ${SESSION_ROWS} sessions`, mb(full), '≤ 150 MB', full <= 150 * 1024 * 1024);
  }

  console.log('\nGoals');
  for (const g of goals) console.log(`  ${g.met ? 'MET    ' : 'NOT MET'}  ${g.text}: ${g.value} (goal ${g.target})`);
} catch (error) {
  const errors = platform.logs().split('\n').filter((l) => /"level":(50|60)/.test(l));
  if (errors.length > 0) console.error(`the platform's last errors:\n${errors.slice(-10).join('\n')}`);
  throw error;
} finally {
  await cleanup();
}

function cleanup() {
  cleaning ??= stopAll();
  return cleaning;
}
async function stopAll() {
  agent.destroy();
  await nc?.close();
  for (const stop of stops) await stop().catch(() => undefined);
  await hub?.stop();
  await platform.stop();
  // Workloads outlive their services by design (a restart adopts them): end the ones this run started.
  for (const kind of ['sessions', 'apps']) {
    let entries = [];
    try {
      entries = readdirSync(join(dataDir, kind));
    } catch {
      // none made
    }
    for (const id of entries) {
      try {
        const { pid } = JSON.parse(readFileSync(join(dataDir, kind, id, 'state.json'), 'utf8'));
        if (pid) process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
}
