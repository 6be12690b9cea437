#!/usr/bin/env node
// `npm run bench -- gateway`: what the platform's own machinery costs, next to a raw NATS baseline measured
// in the same run on the same machine (figures on a shared machine are noisy; ratios less so).
//   read:  GET /api/v1/environments through the gateway (HTTP, JWT, RPC, Postgres) vs a raw NATS
//          request-reply round trip to a trivial responder
//   write: POST a launcher until its event is readable on the stream (transaction + outbox + relay)
//          vs a raw JetStream publish acknowledgement
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DeliverPolicy, AckPolicy } from '@nats-io/jetstream';
import { cpuDuring, measure, printCpu, ratio, serviceOf, startPlatform } from './lib.js';

const N = Number(process.env.BENCH_ITERATIONS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

// The write phase makes N launchers in one project: above the per-project limit a user gets.
const platform = await startPlatform({ LAUNCHERS_PER_PROJECT: String(Math.min(10_000, N + 50)) });
const api = platform.api;
const auth = { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json' };
// The baselines run on the platform's own NATS server, so both sides of each ratio share it.
const nc = await connect({ servers: platform.natsUrl });

try {
  console.log(`\nLaunchpad benchmark: ${N} operations per row, ${CONCURRENCY} concurrent\n`);
  // read path
  const echoSubject = `bench.echo.${randomBytes(3).toString('hex')}`;
  nc.subscribe(echoSubject, { callback: (_e, m) => m.respond(m.data) });
  const payload = JSON.stringify({ caller: { userId: 'alice', admin: true }, query: {} });
  await measure('warm-up', 50, CONCURRENCY, () => fetch(`${api}/environments`, { headers: auth }).then((r) => r.text()));
  const rawRpc = await measure('baseline: raw NATS request-reply', N, CONCURRENCY, () => nc.request(echoSubject, payload, { timeout: 5000 }));
  // With BENCH_CPU_PROF_DIR, every service's CPU profile of these reads is in <dir>/read.
  const { result: viaGateway, cpu } = await cpuDuring(platform.services(), serviceOf, () =>
    platform.profile('read', () =>
      measure('GET /environments via gateway', N, CONCURRENCY, async () => {
        const r = await fetch(`${api}/environments`, { headers: auth });
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        await r.text();
      }),
    ),
  );
  printCpu('CPU per request', cpu, N);
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
  await platform.stop();
}
