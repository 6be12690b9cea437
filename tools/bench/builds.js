#!/usr/bin/env node
// `npm run bench -- builds`: what the builds service costs, beside raw JetStream measured in the same run.
//   ingest:            GitLab pipeline hooks POSTed to the gateway until answered (gateway, RPC, token
//                      check, one transaction recording the delivery, the build and its event), each a
//                      new commit, BENCH_CONCURRENCY in flight
//   update available:  a newer build's success hook until the launcher made from code pinned to an older
//                      build carries `updateAvailable` on the ENVIRONMENTS stream (builds outbox ->
//                      BUILDS -> environments consumer -> launchers -> outbox -> ENVIRONMENTS), one at a time
//   baseline:          raw JetStream publish + ack to a throwaway stream
import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { cpuDuring, measure, printCpu, ratio, serviceOf, startPlatform, summarize } from './lib.js';

const N = Number(process.env.BENCH_ITERATIONS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const UPDATES = Number(process.env.BENCH_BUILD_UPDATES ?? 50);
const SECRET = 'bench-webhook-secret-0123456789';
const PROJECT = { id: 424242, path: 'bench/builds' };

/** A pipeline hook shaped as GitLab documents it (webhook_events.md), trimmed to one job: the image job. */
const pipelineHook = (sha, pipelineId, status, jobStatus) => ({
  object_kind: 'pipeline',
  object_attributes: { id: pipelineId, iid: pipelineId, ref: 'main', tag: false, sha, before_sha: sha, source: 'push', status, stages: ['build'], created_at: '2016-08-12 15:23:28 UTC', finished_at: null, duration: null, url: `https://gitlab.bench/${PROJECT.path}/-/pipelines/${pipelineId}` },
  user: { id: 1, name: 'Administrator', username: 'root', email: 'admin@example.com' },
  project: { id: PROJECT.id, name: 'builds', web_url: `https://gitlab.bench/${PROJECT.path}`, path_with_namespace: PROJECT.path, default_branch: 'main', namespace: 'bench', visibility_level: 0 },
  commit: { id: sha, message: 'bench\n', timestamp: '2016-08-12T17:23:21+02:00', author: { name: 'Bench', email: 'bench@example.com' } },
  builds: [{ id: pipelineId * 10, stage: 'build', name: 'image_build', status: jobStatus, created_at: '2016-08-12 15:23:28 UTC', started_at: null, finished_at: null, failure_reason: null, when: 'on_success', manual: false, allow_failure: false }],
});

const platform = await startPlatform({ BUILD_JOB_NAME: 'image_build', BUILD_REGISTRY: 'registry.bench', GITLAB_URL: 'https://gitlab.bench' });
const auth = { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json' };
const api = platform.api;
const nc = await connect({ servers: platform.natsUrl });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
const deliver = async (body) => {
  const r = await fetch(`${api}/webhooks/gitlab`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Pipeline Hook', 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': SECRET },
    body: JSON.stringify(body),
  });
  if (r.status !== 200) throw new Error(`webhook answered ${r.status}: ${await r.text()}`);
  return r.json();
};
const check = async (r) => {
  if (!r.ok) throw new Error(`${r.url}: ${r.status} ${await r.text()}`);
  return r.json();
};

try {
  console.log(`\nLaunchpad benchmark, builds: ${N} webhooks, ${CONCURRENCY} concurrent; ${UPDATES} update-available round trips\n`);
  await check(await fetch(`${api}/projects/${PROJECT.id}`, { method: 'PUT', headers: auth, body: JSON.stringify({ path: PROJECT.path, name: 'Bench builds', visibility: 'private' }) }));
  await check(await fetch(`${api}/projects/${PROJECT.id}/webhook-secret`, { method: 'PUT', headers: auth, body: JSON.stringify({ secret: SECRET }) }));

  const rawStream = `BENCH_${randomBytes(3).toString('hex').toUpperCase()}`;
  await jsm.streams.add({ name: rawStream, subjects: [`${rawStream.toLowerCase()}.>`] });
  const sha = () => randomBytes(20).toString('hex');
  let pipelineId = 1000;

  await measure('warm-up', 50, CONCURRENCY, () => deliver(pipelineHook(sha(), ++pipelineId, 'running', 'running')));
  const rawPublish = await measure('baseline: raw JetStream publish + ack', N, CONCURRENCY, (i) =>
    js.publish(`${rawStream.toLowerCase()}.x`, JSON.stringify(pipelineHook(sha(), i, 'running', 'running')), { msgID: `${rawStream}-${i}` }),
  );
  // With BENCH_CPU_PROF_DIR, every service's CPU profile of the ingest is in <dir>/ingest.
  const { result: ingest, cpu } = await cpuDuring(platform.services(), serviceOf, () =>
    platform.profile('ingest', () =>
      measure('GitLab pipeline hook ingested (200 from gateway)', N, CONCURRENCY, () => deliver(pipelineHook(sha(), ++pipelineId, 'running', 'running'))),
    ),
  );
  printCpu('CPU per delivery', cpu, N);
  ratio('ratio webhook ingest / raw publish', ingest, rawPublish);

  // A launcher made from code pinned to a succeeded build; then newer builds succeed one at a time.
  const first = sha();
  await deliver(pipelineHook(first, ++pipelineId, 'success', 'success'));
  let launcher;
  for (let i = 0; i < 100 && !launcher; i++) {
    const r = await fetch(`${api}/projects/${PROJECT.id}/launchers`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'bench-code', kind: 'session', environment: { kind: 'code', port: 8000 } }),
    });
    if (r.status === 201) launcher = await r.json();
    else await new Promise((res) => setTimeout(res, 100));
  }
  if (!launcher) throw new Error('environments never learnt of the first build');
  const waiting = new Map();
  const durable = `bench-${randomBytes(3).toString('hex')}`;
  await jsm.consumers.add('ENVIRONMENTS', { durable_name: durable, filter_subject: 'environments.launcher.updated', deliver_policy: DeliverPolicy.New, ack_policy: AckPolicy.None });
  const messages = await (await js.consumers.get('ENVIRONMENTS', durable)).consume();
  void (async () => {
    for await (const m of messages) {
      const data = m.json().data;
      if (data.id === launcher.id && data.updateAvailable) waiting.get(data.updateAvailable.sha)?.();
    }
  })();
  const latencies = [];
  for (let i = 0; i < UPDATES; i++) {
    const newer = sha();
    const flagged = new Promise((resolve) => waiting.set(newer, resolve));
    const t = performance.now();
    await deliver(pipelineHook(newer, ++pipelineId, 'success', 'success'));
    await flagged;
    latencies.push(performance.now() - t);
  }
  const updates = summarize('webhook (build succeeded) -> launcher updateAvailable', latencies);
  ratio('ratio webhook->updateAvailable / raw publish', updates, rawPublish);
  await messages.close();
} finally {
  await nc.close();
  await platform.stop();
}
