import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import { OutboxWriter, type RpcClient } from '@launchpad/messaging';
import { createServiceDataSource, migrate } from '@launchpad/persistence';
import { FakeRuntime } from '@launchpad/runtime';
import { HealthRegistry } from '@launchpad/telemetry';
import type { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase, waitFor } from '../../../../tools/testing/harness.js';
import type { SessionsConfig } from '../config.js';
import { SessionEntity } from '../sessions/session.entity.js';
import { SessionTransitions } from '../sessions/session-transitions.js';
import { sessionsEntities, sessionsMigrations } from '../sessions.module.js';
import { ActivityProbe } from '../culling/activity-probe.js';
import { CheckIdleSession } from '../culling/check-idle-session.usecase.js';
import { ImageBuildGate } from './image-build-gate.js';
import { SessionReconciler } from './session-reconciler.js';

const culling = { idleTimeoutMs: 60 * 60_000, hibernatedTtlMs: 24 * 60 * 60_000 };

/** Counts what the reconciler asks the runtime about, to see which sessions a resync woke. */
class CountingRuntime extends FakeRuntime {
  readonly asked: string[] = [];
  override async status(id: string) {
    this.asked.push(id);
    return super.status(id);
  }
}

/**
 * The session reconciler on its ReconcileController, against a real Postgres database of its own
 * (so that its leader lock is its own) and a FakeRuntime standing in for a driver: the runtime's
 * events are what a driver announces, moved on by the test. No NATS: its wakes come from the
 * runtime's events and from `wake`, as a session event's would.
 */
describe('SessionReconciler on a FakeRuntime', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let runtime: CountingRuntime;
  let reconciler: SessionReconciler;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createServiceDataSource({ url: db.url, schema: 'sessions', entities: sessionsEntities, migrations: sessionsMigrations, applicationName: 'session-reconciler-test' });
    await ds.initialize();
    await migrate(ds, 'sessions');
  });

  beforeEach(async () => {
    runtime = new CountingRuntime();
    const outbox = new OutboxWriter(ds);
    const nc = { subscribe: () => ({ unsubscribe: () => undefined }) } as unknown as NatsConnection;
    const config = { database: { url: db.url }, reconciler: { intervalMs: 60 * 60_000, leaderElectionIntervalMs: 100 } } as unknown as SessionsConfig;
    reconciler = new SessionReconciler(ds, new SessionTransitions(outbox, culling), outbox, runtime, nc, culling, config, new ImageBuildGate({} as RpcClient), new CheckIdleSession(new ActivityProbe()), new HealthRegistry());
    reconciler.onApplicationBootstrap();
  });

  afterEach(async () => {
    await reconciler.onApplicationShutdown();
    await ds.query('DELETE FROM sessions.sessions');
  });

  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  async function insert(over: Partial<SessionEntity> = {}): Promise<SessionEntity> {
    const now = new Date();
    const row = ds.getRepository(SessionEntity).create({
      id: randomUUID(),
      userId: 'dana',
      launcherId: randomUUID(),
      projectId: '42',
      name: 'Notebook',
      status: 'starting',
      desiredState: 'running',
      phase: 'queued',
      message: 'queued',
      image: 'jupyter/minimal:1',
      spec: { command: ['jupyter', 'lab'], args: [], env: {}, port: 8888, defaultUrl: '/lab', workingDirectory: '/work', repositories: [], build: null },
      resourceClassId: 'small',
      resourcePoolId: randomUUID(),
      cpu: 1,
      memoryGb: 1,
      gpu: 0,
      diskGb: 1,
      endpoint: null,
      progressSeq: 0,
      createdAt: now,
      startedAt: null,
      lastInteraction: now,
      hibernatedAt: null,
      hibernationReason: null,
      updatedAt: now,
      ...over,
    });
    return ds.getRepository(SessionEntity).save(row);
  }

  const rowOf = (id: string) => ds.getRepository(SessionEntity).findOneByOrFail({ id });
  /** Wakes a session until the leader lock is taken (at once on a database of our own), then waits for `until`. */
  const reconcileUntil = (id: string, what: string, until: (row: SessionEntity) => boolean) =>
    waitFor(what, async () => {
      reconciler.wake(id);
      const row = await rowOf(id);
      return until(row) ? row : undefined;
    });

  it('hands a launch to the runtime and follows its events to running, starting it once', async () => {
    const { id } = await insert();
    await reconcileUntil(id, 'the launch to be handed over', (row) => row.phase === 'preparing');
    expect(runtime.calls.filter((c) => c.method === 'ensureRunning')).toHaveLength(1);
    runtime.set(id, 'starting');
    await waitFor('starting', async () => (await rowOf(id)).phase === 'starting');
    const ready = runtime.set(id, 'ready');
    const row = await waitFor('running', async () => {
      const row = await rowOf(id);
      return row.status === 'running' ? row : undefined;
    });
    expect(row).toMatchObject({ phase: 'ready', endpoint: ready.endpoint });
    expect(runtime.calls.filter((c) => c.method === 'ensureRunning')).toHaveLength(1);
  });

  it('shows what a pending workload waits for, then fails the session with the runtime’s reason and stops it', async () => {
    const { id } = await insert();
    await reconcileUntil(id, 'the launch to be handed over', (row) => row.phase === 'preparing');
    runtime.set(id, 'pending', { reason: 'Unschedulable', message: 'waiting for resources: 0/3 nodes have 2 free GPUs' });
    await waitFor('the wait to show', async () => (await rowOf(id)).message === 'starting: waiting for resources: 0/3 nodes have 2 free GPUs');
    runtime.set(id, 'failed', { reason: 'CrashLoopBackOff', message: 'exited with code 1; last output:\nImportError', restarts: 5 });
    const failed = await waitFor('failed', async () => {
      const row = await rowOf(id);
      return row.status === 'failed' ? row : undefined;
    });
    expect(failed.message).toContain('ImportError');
    // A runtime that would restart it for ever (the kubelet) is told to stop; nothing starts it again.
    await waitFor('the crash loop to be stopped', async () => runtime.calls.some((c) => c.method === 'stop' && c.id === id));
    expect(runtime.calls.filter((c) => c.method === 'ensureRunning')).toHaveLength(1);
  });

  it('retries a runtime that is down, backing off, until it answers', async () => {
    const { id } = await insert();
    runtime.failNext('ensureRunning');
    await reconcileUntil(id, 'the launch to be handed over after the failure', (row) => row.phase === 'preparing');
    expect(runtime.calls.filter((c) => c.method === 'ensureRunning').length).toBeGreaterThanOrEqual(1);
  });

  it('resyncs the sessions that may need work, not those at rest, and finds expired hibernations with one query', async () => {
    const longAgo = new Date(Date.now() - culling.hibernatedTtlMs - 60_000);
    const resting = await Promise.all(
      Array.from({ length: 20 }, () => insert({ status: 'hibernated', desiredState: 'hibernated', phase: 'hibernated', hibernatedAt: new Date() })),
    );
    const failed = await insert({ status: 'failed', desiredState: 'running', phase: 'failed' });
    const expired = await insert({ status: 'hibernated', desiredState: 'hibernated', phase: 'hibernated', hibernatedAt: longAgo });
    const launching = await insert();
    // A workload kept for a hibernated session, and one whose session is gone.
    await runtime.ensureRunning({ ...specOf(resting[0]!.id) });
    await runtime.stop(resting[0]!.id);
    const orphan = randomUUID();
    await runtime.ensureRunning(specOf(orphan));

    await waitFor('leadership', async () => {
      runtime.asked.length = 0;
      await reconciler.pass();
      return runtime.asked.length > 0;
    });
    await waitFor('the orphan to be removed', async () => !(await runtime.status(orphan)));
    await waitFor('the expired session to go', async () => !(await ds.getRepository(SessionEntity).existsBy({ id: expired.id })));
    await waitFor('the launch to be handed over', async () => (await rowOf(launching.id)).phase === 'preparing');

    runtime.asked.length = 0;
    await reconciler.pass();
    await waitFor('the pass to be worked through', async () => runtime.asked.includes(launching.id));
    const asked = new Set(runtime.asked);
    for (const row of [...resting, failed]) expect(asked.has(row.id)).toBe(false);
    expect(await runtime.status(resting[0]!.id)).toMatchObject({ phase: 'stopped' });
  });
});

function specOf(id: string) {
  return {
    id,
    kind: 'session' as const,
    owner: { service: 'sessions' as const, id },
    image: 'jupyter/minimal:1',
    command: ['jupyter'],
    args: [],
    env: {},
    port: 8888,
    baseUrl: `/sessions/${id}/`,
    defaultUrl: '/lab',
    workingDirectory: '/work',
    repositories: [],
    resources: { cpu: 1, memoryMb: 1024, gpu: 0, diskGb: 1 },
  };
}
