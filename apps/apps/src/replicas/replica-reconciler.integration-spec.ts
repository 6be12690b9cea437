import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import { OutboxWriter } from '@launchpad/messaging';
import { createServiceDataSource, migrate } from '@launchpad/persistence';
import { FakeRuntime } from '@launchpad/runtime';
import { HealthRegistry } from '@launchpad/telemetry';
import type { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase, waitFor } from '../../../../tools/testing/harness.js';
import { AppEntity } from '../apps/app.entity.js';
import { appsEntities, appsMigrations } from '../apps.module.js';
import type { AppsConfig } from '../config.js';
import type { CommandResolver } from '../procfile/command-resolver.js';
import type { Routes } from '../routing/route-source.js';
import type { ConcurrencyCollector } from '../scaler/concurrency-collector.js';
import type { Leadership } from './leadership.js';
import { ReplicaReconciler } from './replica-reconciler.js';

/**
 * The replica reconciler on its ReconcileController, against a real Postgres database of its own
 * and a FakeRuntime standing in for a driver that runs apps as a whole (the process driver's
 * ProcessApps, a Deployment): the test moves replicas on as a driver would report them. The route
 * broadcast, the Procfile resolver and the activators' load reports are stand-ins; leadership is
 * held throughout.
 */
describe('ReplicaReconciler on a FakeRuntime', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let runtime: FakeRuntime;
  let reconciler: ReplicaReconciler;
  let published: string[];
  const load = new Map<string, number>();

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createServiceDataSource({ url: db.url, schema: 'apps', entities: appsEntities, migrations: appsMigrations, applicationName: 'replica-reconciler-test' });
    await ds.initialize();
    await migrate(ds, 'apps');
  });

  beforeEach(() => {
    runtime = new FakeRuntime();
    published = [];
    load.clear();
    const routes = { publish: async (appId: string) => void published.push(appId) } as unknown as Routes;
    const leadership = { isLeader: true, onChange: () => undefined } as unknown as Leadership;
    const concurrency = { outstanding: (endpoint: string) => load.get(endpoint) ?? 0 } as unknown as ConcurrencyCollector;
    const nc = { subscribe: () => ({ unsubscribe: () => undefined }) } as unknown as NatsConnection;
    const config = { replicas: { reconcileIntervalMs: 60 * 60_000, drainMs: 1000, crashes: { limit: 3, windowMs: 60_000, backoffMs: 100 } } } as unknown as AppsConfig;
    reconciler = new ReplicaReconciler(ds, new OutboxWriter(ds), routes, {} as CommandResolver, leadership, concurrency, runtime, nc, config, new HealthRegistry());
    reconciler.onApplicationBootstrap();
  });

  afterEach(async () => {
    await reconciler.onApplicationShutdown();
    await ds.query('DELETE FROM apps.apps');
  });

  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  async function activeApp(over: Partial<AppEntity> = {}): Promise<AppEntity> {
    const now = new Date();
    const launcherId = randomUUID();
    return ds.getRepository(AppEntity).save(
      ds.getRepository(AppEntity).create({
        launcherId,
        projectId: '42',
        name: 'Board',
        slug: `board-${launcherId.slice(0, 8)}`,
        status: 'active',
        message: null,
        access: 'public',
        minReplicas: 0,
        maxReplicas: 3,
        targetConcurrency: 10,
        desiredReplicas: 2,
        generation: 1,
        spec: { image: 'ghcr.io/lab/board:1', command: [], args: [], env: {}, port: 8000, defaultUrl: '/', workingDirectory: '/work', repositories: [] },
        specHash: 'h',
        command: { source: 'launcher', repository: null, line: 'node app.js', command: ['node', 'app.js'], args: [], stripPrefix: false },
        endpoints: [],
        routeVersion: 1,
        lastRequestAt: null,
        activatedAt: now,
        activatedBy: 'dana',
        createdAt: now,
        updatedAt: now,
        ...over,
      }),
    );
  }

  const rowOf = (id: string) => ds.getRepository(AppEntity).findOneByOrFail({ launcherId: id });

  it('asks the runtime for the app as a whole and routes to the replicas it reports ready', async () => {
    const app = await activeApp();
    reconciler.wake(app.launcherId);
    const status = await waitFor('two replicas', async () => {
      const s = await runtime.appStatus(app.launcherId);
      return s && s.instances.length === 2 ? s : undefined;
    });
    expect(runtime.calls.find((c) => c.method === 'ensureApp')).toMatchObject({ appId: app.launcherId, replicas: 2, generation: 1 });
    expect(runtime.specs.get(status.instances[0]!.id)).toMatchObject({ kind: 'app', command: ['node', 'app.js'], baseUrl: '/' });
    const ready = status.instances.map((w) => runtime.set(w.id, 'ready'));
    const row = await waitFor('the endpoints to be routed', async () => {
      const row = await rowOf(app.launcherId);
      return row.endpoints.length === 2 ? row : undefined;
    });
    expect(row.endpoints).toEqual(ready.map((w) => w.endpoint));
    expect(published).toContain(app.launcherId);
  });

  it('names the least loaded replica first when the scaler asks for fewer', async () => {
    const app = await activeApp();
    reconciler.wake(app.launcherId);
    const status = await waitFor('two replicas', async () => {
      const s = await runtime.appStatus(app.launcherId);
      return s && s.instances.length === 2 ? s : undefined;
    });
    const [busy, idle] = status.instances.map((w) => runtime.set(w.id, 'ready'));
    load.set(busy!.endpoint!, 5);
    await ds.getRepository(AppEntity).update({ launcherId: app.launcherId }, { desiredReplicas: 1 });
    reconciler.wake(app.launcherId);
    await waitFor('one replica', async () => (await runtime.appStatus(app.launcherId))?.instances.length === 1);
    expect((await runtime.appStatus(app.launcherId))!.instances[0]!.id).toBe(busy!.id);
    // Only the count changed: scaleApp (a Deployment's scale subresource), the idle one named first.
    expect(runtime.calls.filter((c) => c.method === 'scaleApp').at(-1)).toMatchObject({ replicas: 1, removeFirst: [idle!.id, busy!.id] });
    expect(await runtime.status(idle!.id)).toBeNull();
  });

  it('fails the app when the runtime says a replica keeps crashing, and scales it to zero', async () => {
    const app = await activeApp({ desiredReplicas: 1 });
    reconciler.wake(app.launcherId);
    const [replica] = (await waitFor('a replica', async () => (await runtime.appStatus(app.launcherId))?.instances.length === 1 && runtime.appStatus(app.launcherId)))!.instances;
    runtime.set(replica!.id, 'failed', { reason: 'CrashLoopBackOff', restarts: 3, readyAt: new Date().toISOString(), message: 'exited with code 124; last output:\nout of memory' });
    const failed = await waitFor('the app to fail', async () => {
      const row = await rowOf(app.launcherId);
      return row.status === 'failed' ? row : undefined;
    });
    expect(failed.message).toBe('replica r1 keeps crashing: it stopped 3 times in a row, each within 60 s of starting; the last time it exited with code 124; last output:\nout of memory');
    expect(failed.desiredReplicas).toBe(0);
    await waitFor('the app to be scaled to zero', async () => runtime.calls.some((c) => c.method === 'scaleApp' && c.appId === app.launcherId && c.replicas === 0));
  });

  it('removes the replicas of an app switched off, and retries a runtime that is down', async () => {
    const app = await activeApp({ desiredReplicas: 1 });
    runtime.failNext('ensureApp');
    reconciler.wake(app.launcherId);
    await waitFor('a replica despite the failure', async () => (await runtime.appStatus(app.launcherId))?.instances.length === 1);
    await ds.getRepository(AppEntity).update({ launcherId: app.launcherId }, { status: 'inactive', desiredReplicas: 0 });
    reconciler.wake(app.launcherId);
    await waitFor('the app to be removed', async () => runtime.calls.some((c) => c.method === 'removeApp' && c.appId === app.launcherId));
    expect(await runtime.appStatus(app.launcherId)).toBeNull();
  });
});
