#!/usr/bin/env node
// `npm run bench -- sessions`: what the session scheduler costs.
//   launch overhead: request to `running`, minus the session program's own start-to-listen time
//                    (the same program started bare, measured in the same run), for 1 and for 50
//                    concurrent launches, on the process runtime
//   memory:          the sessions service's resident memory with 1,000 sessions in its tables,
//                    beside the same process before they were added
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { devSigningKey, devToken, ROOT } from '../dev/dev-key.js';
import { bareStart as bareStartOf, inTurns, sleep, startPlatform, summarize, seedHibernatedSessions, workloadDataDir } from './lib.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');
const SEQUENTIAL = Number(process.env.BENCH_SESSION_LAUNCHES ?? 20);
const CONCURRENT = Number(process.env.BENCH_SESSION_CONCURRENCY ?? 50);
const TABLE_ROWS = Number(process.env.BENCH_SESSION_ROWS ?? 1000);

/** The program alone: spawn to first HTTP answer. */
const bareStart = () => bareStartOf(PROGRAM, (port) => ({ LAUNCHPAD_PORT: String(port), LAUNCHPAD_BASE_URL: '/' }));

const dataDir = workloadDataDir('lp-bench-sessions-');
const platform = await startPlatform({ RUNTIME_DATA_DIR: dataDir, DEFAULT_POOL_QUOTA_CPU: '100000', DEFAULT_POOL_QUOTA_MEMORY_GB: '100000' });
const key = devSigningKey();
const admin = { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json' };
const json = async (res) => {
  const body = await res.json();
  if (!res.ok) throw new Error(`${res.status}: ${JSON.stringify(body)}`);
  return body;
};

/** Follows the session's launch steps (SSE), as a person's browser would, until it is ready. */
async function untilReady(id, headers) {
  const res = await fetch(`${platform.api}/sessions/${id}/events`, { headers: { ...headers, accept: 'text/event-stream' } });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the event stream of session ${id} ended before it was ready`);
      text += decoder.decode(value, { stream: true });
      if (text.includes('"phase":"ready"')) return;
      if (text.includes('"phase":"failed"')) throw new Error(`session ${id} failed: ${text}`);
    }
  } finally {
    await reader.cancel();
  }
}

async function launchAll(n, concurrency, launcherId) {
  const users = await Promise.all(Array.from({ length: n }, (_, i) => devToken({ user: `bench-${concurrency}-${i}`, key })));
  const times = [];
  const ids = [];
  await inTurns(n, concurrency, async (i) => {
    const headers = { authorization: `Bearer ${users[i]}`, 'content-type': 'application/json' };
    const t = performance.now();
    const session = await json(await fetch(`${platform.api}/sessions`, { method: 'POST', headers, body: JSON.stringify({ launcherId }) }));
    await untilReady(session.id, headers);
    times.push(performance.now() - t);
    ids.push({ id: session.id, headers });
  });
  // Tidy up, so the next batch has the machine to itself.
  await Promise.all(ids.map(({ id, headers }) => fetch(`${platform.api}/sessions/${id}`, { method: 'DELETE', headers })));
  for (const { id, headers } of ids) while ((await fetch(`${platform.api}/sessions/${id}`, { headers })).status !== 404) await sleep(50);
  return times;
}

async function residentBytes() {
  const metrics = await (await fetch(`http://127.0.0.1:${platform.ports.sessions}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(metrics)?.[1]);
}

try {
  console.log(`\nSessions benchmark (process runtime): ${SEQUENTIAL} launches one at a time, ${CONCURRENT} at once\n`);
  await json(await fetch(`${platform.api}/projects/bench`, { method: 'PUT', headers: admin, body: JSON.stringify({ path: 'bench/sessions', name: 'Bench', visibility: 'public' }) }));
  const launcher = await json(
    await fetch(`${platform.api}/projects/bench/launchers`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'bench', kind: 'session', environment: { kind: 'custom', image: 'bench/program:1', port: 8888, command: [process.execPath], args: [PROGRAM] } }),
    }),
  );

  await launchAll(3, 1, launcher.id); // warm-up: JIT, connection pools, the runtime's first clone
  // The program's own start-to-listen time, alone and with as many starting at once as the
  // concurrent launches start (50 programs on 2 cores wait for each other, whoever starts them).
  const bare = [];
  for (let i = 0; i < SEQUENTIAL; i++) bare.push(await bareStart());
  const baseline = summarize('baseline: the program alone, spawn to first answer', bare);
  const bareMany = await Promise.all(Array.from({ length: CONCURRENT }, () => bareStart()));
  const baselineMany = summarize(`baseline: ${CONCURRENT} programs started at once`, bareMany);

  // Each launch minus the program's median start-to-listen time under the same concurrency.
  const oneTimes = await launchAll(SEQUENTIAL, 1, launcher.id);
  const one = summarize('launch, 1 at a time: request to running', oneTimes);
  summarize('  control-plane overhead (minus program p50)', oneTimes.map((t) => t - baseline.p50));
  const manyTimes = await launchAll(CONCURRENT, CONCURRENT, launcher.id);
  const many = summarize(`launch, ${CONCURRENT} at once: request to running`, manyTimes);
  summarize(`  control-plane overhead (minus ${CONCURRENT}-at-once p50)`, manyTimes.map((t) => t - baselineMany.p50));
  console.log(`${'ratio launch / program start, 1 at a time'.padEnd(54)} p50 x${(one.p50 / baseline.p50).toFixed(1)}  p99 x${(one.p99 / baseline.p99).toFixed(1)}`);
  console.log(`${`ratio launch / program start, ${CONCURRENT} at once`.padEnd(54)} p50 x${(many.p50 / baselineMany.p50).toFixed(1)}  p99 x${(many.p99 / baselineMany.p99).toFixed(1)}`);

  // Memory: hibernated sessions are what a scheduler carries most of (one per user and launcher).
  const before = await residentBytes();
  await seedHibernatedSessions(platform.dbUrl, launcher.id, TABLE_ROWS);
  await sleep(12_000); // two reconciler passes over every row
  const after = await residentBytes();
  const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;
  console.log(`${'sessions service RSS, no sessions'.padEnd(54)} ${mb(before)}`);
  console.log(`${`sessions service RSS, ${TABLE_ROWS} sessions in its tables`.padEnd(54)} ${mb(after)}  (x${(after / before).toFixed(2)}, ${((after - before) / TABLE_ROWS / 1024).toFixed(1)} KB per session)`);
} finally {
  await platform.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
