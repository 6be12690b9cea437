#!/usr/bin/env node
// `npm run bench`: what the platform's own machinery costs, next to a raw NATS baseline measured
// in the same run on the same machine (figures on a shared machine are noisy; ratios less so).
//   read:  GET /api/v1/environments through the gateway (HTTP, JWT, RPC, Postgres) vs a raw NATS
//          request-reply round trip to a trivial responder
//   write: POST a launcher until its event is readable on the stream (transaction + outbox + relay)
//          vs a raw JetStream publish acknowledgement
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DeliverPolicy, AckPolicy } from '@nats-io/jetstream';
import pg from 'pg';
import { ROOT } from '../dev/dev-key.js';

const N = Number(process.env.BENCH_ITERATIONS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
async function measure(label, n, concurrency, op) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const r = { label, n, p50: pct(latencies, 50), p99: pct(latencies, 99), perSecond: n / seconds };
  console.log(`${label.padEnd(46)} n=${String(n).padStart(4)}  p50 ${r.p50.toFixed(2).padStart(7)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms  ${r.perSecond.toFixed(0).padStart(6)}/s`);
  return r;
}
const ratio = (label, a, b) => console.log(`${label.padEnd(46)} p50 x${(a.p50 / b.p50).toFixed(1)}  p99 x${(a.p99 / b.p99).toFixed(1)}  throughput x${(a.perSecond / b.perSecond).toFixed(2)}`);

const db = `lp_bench_${randomBytes(3).toString('hex')}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
const dbUrl = new URL(ADMIN_URL);
dbUrl.pathname = `/${db}`;
const gatewayPort = 18000 + Math.floor(Math.random() * 1000);
const platform = spawn(process.execPath, [join(ROOT, 'tools/dev/start.js')], {
  env: { ...process.env, DATABASE_URL: dbUrl.toString(), NATS_URL, GATEWAY_PORT: String(gatewayPort), ENVIRONMENTS_PORT: String(gatewayPort + 1), LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
const token = await new Promise((resolve, reject) => {
  platform.stdout.on('data', (d) => {
    out += d;
    const m = /export TOKEN=(\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  platform.once('exit', (code) => reject(new Error(`the platform exited (${code}):\n${out}`)));
});
const api = `http://127.0.0.1:${gatewayPort}/api/v1`;
const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const nc = await connect({ servers: NATS_URL });

try {
  console.log(`\nLaunchpad benchmark: ${N} operations per row, ${CONCURRENCY} concurrent\n`);
  // read path
  const echoSubject = `bench.echo.${randomBytes(3).toString('hex')}`;
  nc.subscribe(echoSubject, { callback: (_e, m) => m.respond(m.data) });
  const payload = JSON.stringify({ caller: { userId: 'alice', admin: true }, query: {} });
  await measure('warm-up', 50, CONCURRENCY, () => fetch(`${api}/environments`, { headers: auth }).then((r) => r.text()));
  const rawRpc = await measure('baseline: raw NATS request-reply', N, CONCURRENCY, () => nc.request(echoSubject, payload, { timeout: 5000 }));
  const viaGateway = await measure('GET /environments via gateway', N, CONCURRENCY, async () => {
    const r = await fetch(`${api}/environments`, { headers: auth });
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    await r.text();
  });
  ratio('ratio gateway read / raw request-reply', viaGateway, rawRpc);

  // write path
  await fetch(`${api}/projects/bench`, { method: 'PUT', headers: auth, body: JSON.stringify({ path: 'bench/p', name: 'Bench', visibility: 'private' }) });
  const envId = (await (await fetch(`${api}/environments`, { headers: auth })).json()).items[0].id;
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const rawStream = `BENCH_${randomBytes(3).toString('hex').toUpperCase()}`;
  await jsm.streams.add({ name: rawStream, subjects: [`${rawStream.toLowerCase()}.>`] });
  const rawPublish = await measure('baseline: raw JetStream publish + ack', N, CONCURRENCY, (i) => js.publish(`${rawStream.toLowerCase()}.x`, JSON.stringify({ i }), { msgID: `${rawStream}-${i}` }));

  const seen = new Map();
  const durable = `bench-${randomBytes(3).toString('hex')}`;
  await jsm.consumers.add('ENVIRONMENTS', { durable_name: durable, filter_subject: 'environments.launcher.created', deliver_policy: DeliverPolicy.New, ack_policy: AckPolicy.None });
  const messages = await (await js.consumers.get('ENVIRONMENTS', durable)).consume();
  (async () => {
    for await (const m of messages) {
      const name = m.json().data.name;
      seen.get(name)?.();
    }
  })();
  const writeToEvent = await measure('POST launcher until its event is on the stream', Math.min(N, 200), CONCURRENCY, async (i) => {
    const name = `bench-${i}`;
    const arrived = new Promise((resolve) => seen.set(name, resolve));
    const r = await fetch(`${api}/projects/bench/launchers`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name, kind: 'session', environment: { kind: 'global', id: envId } }),
    });
    if (r.status !== 201) throw new Error(`status ${r.status}: ${await r.text()}`);
    await arrived;
  });
  ratio('ratio write-to-event / raw publish', writeToEvent, rawPublish);
  await messages.close();
  await jsm.consumers.delete('ENVIRONMENTS', durable);
  await jsm.streams.delete(rawStream);
} finally {
  await nc.close();
  platform.kill('SIGTERM');
  await new Promise((r) => platform.once('exit', r));
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
}
