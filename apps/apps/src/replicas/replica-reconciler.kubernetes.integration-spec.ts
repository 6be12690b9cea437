import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import { OutboxWriter } from '@launchpad/messaging';
import { createServiceDataSource, migrate } from '@launchpad/persistence';
import type { KubernetesRuntime } from '@launchpad/runtime';
import { HealthRegistry } from '@launchpad/telemetry';
import type { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase, waitFor } from '../../../../tools/testing/harness.js';
import { type KubeApiStandin, NAMESPACE, startKubernetes } from '../../../../tools/testing/kubernetes.js';
import { AppEntity } from '../apps/app.entity.js';
import { appsEntities, appsMigrations } from '../apps.module.js';
import type { AppsConfig } from '../config.js';
import type { CommandResolver } from '../procfile/command-resolver.js';
import type { Routes } from '../routing/route-source.js';
import type { ConcurrencyCollector } from '../scaler/concurrency-collector.js';
import type { Leadership } from './leadership.js';
import { ReplicaReconciler } from './replica-reconciler.js';

/**
 * The replica reconciler (as APP_RUNTIME=kubernetes wires it) driving the kubernetes driver, against
 * a real Postgres database and the API server stand-in, whose simulated Deployment controller,
 * kubelet and EndpointSlice controller stand for a cluster's: a Deployment's pods are made from its
 * template, become ready, and are listed (with their pod IPs) in the app Service's EndpointSlice;
 * a scale-down removes the pod with the lowest pod-deletion-cost first, as the ReplicaSet controller does.
 */
describe('ReplicaReconciler on the kubernetes driver (API server stand-in)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let api: KubeApiStandin;
  let runtime: KubernetesRuntime;
  let close: () => Promise<void>;
  let reconciler: ReplicaReconciler;
  const load = new Map<string, number>();

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createServiceDataSource({ url: db.url, schema: 'apps', entities: appsEntities, migrations: appsMigrations, applicationName: 'replica-reconciler-k8s-test' });
    await ds.initialize();
    await migrate(ds, 'apps');
    ({ api, runtime, close } = await startKubernetes({}, { kinds: ['app'] }));
    const routes = { publish: async () => undefined } as unknown as Routes;
    const leadership = { isLeader: true, onChange: () => undefined } as unknown as Leadership;
    const concurrency = { outstanding: (endpoint: string) => load.get(endpoint) ?? 0 } as unknown as ConcurrencyCollector;
    const nc = { subscribe: () => ({ unsubscribe: () => undefined }) } as unknown as NatsConnection;
    const config = { replicas: { reconcileIntervalMs: 60 * 60_000, drainMs: 1000, crashes: { limit: 3, windowMs: 60_000, backoffMs: 100 } } } as unknown as AppsConfig;
    reconciler = new ReplicaReconciler(ds, new OutboxWriter(ds), routes, {} as CommandResolver, leadership, concurrency, runtime, nc, config, new HealthRegistry());
    reconciler.onApplicationBootstrap();
  });

  afterAll(async () => {
    await reconciler?.onApplicationShutdown(); // closes the runtime
    await close?.();
    await ds?.destroy();
    await db?.drop();
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
  const podsOf = (appId: string) => api.list('pods', NAMESPACE).filter((p) => p.metadata.labels?.['launchpad.io/app'] === appId && !p.metadata.deletionTimestamp);

  it('makes an app a Deployment and a Service, and routes to the addresses of its ready pods from the EndpointSlice', async () => {
    const app = await activeApp();
    reconciler.wake(app.launcherId);
    const row = await waitFor('two routed endpoints', async () => {
      const r = await rowOf(app.launcherId);
      return r.endpoints.length === 2 ? r : undefined;
    });
    const deployment = api.get('deployments', NAMESPACE, `a-${app.launcherId}`)!;
    expect(deployment.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'launchpad', 'launchpad.io/app': app.launcherId, 'launchpad.io/generation': '1' });
    expect((deployment.spec as any).replicas).toBe(2);
    expect((deployment.spec as any).template.spec.containers[0]).toMatchObject({ image: 'ghcr.io/lab/board:1', command: ['node', 'app.js'] });
    const service = api.get('services', NAMESPACE, `a-${app.launcherId}`)!;
    expect(service.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Deployment', uid: deployment.metadata.uid })]);
    const slice = api.list('endpointslices', NAMESPACE).find((s) => s.metadata.labels?.['kubernetes.io/service-name'] === service.metadata.name)!;
    const addresses = ((slice as any).endpoints as { addresses: string[] }[]).map((e) => `http://${e.addresses[0]}:8000`).sort();
    expect([...row.endpoints].sort()).toEqual(addresses);
  });

  it('scales down through the scale subresource, removing the least loaded pod first (pod-deletion-cost)', async () => {
    const app = await activeApp();
    reconciler.wake(app.launcherId);
    await waitFor('two routed endpoints', async () => (await rowOf(app.launcherId)).endpoints.length === 2);
    const [busy, idle] = podsOf(app.launcherId).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    load.set(`http://${(busy!.status as any).podIP}:8000`, 5);
    const scaleCalls = () => api.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/deployments/a-${app.launcherId}/scale`)).length;
    const before = scaleCalls();
    await ds.getRepository(AppEntity).update({ launcherId: app.launcherId }, { desiredReplicas: 1 });
    reconciler.wake(app.launcherId);
    await waitFor('one pod left', async () => podsOf(app.launcherId).length === 1);
    expect(podsOf(app.launcherId)[0]!.metadata.name).toBe(busy!.metadata.name);
    expect(api.get('pods', NAMESPACE, idle!.metadata.name)).toBeUndefined();
    expect((api.get('deployments', NAMESPACE, `a-${app.launcherId}`)!.spec as any).replicas).toBe(1);
    // Only the count changed: set through the scale subresource, as an autoscaler does.
    expect(scaleCalls()).toBe(before + 1);
    await waitFor('one routed endpoint', async () => (await rowOf(app.launcherId)).endpoints.length === 1);
  });

  it('removes the Deployment and the Service of an app switched off', async () => {
    const app = await activeApp({ desiredReplicas: 1 });
    reconciler.wake(app.launcherId);
    await waitFor('one routed endpoint', async () => (await rowOf(app.launcherId)).endpoints.length === 1);
    await ds.getRepository(AppEntity).update({ launcherId: app.launcherId }, { status: 'inactive', desiredReplicas: 0, endpoints: [] });
    reconciler.wake(app.launcherId);
    await waitFor('the Deployment to be gone', async () => !api.get('deployments', NAMESPACE, `a-${app.launcherId}`));
    await waitFor('the Service and pods to be gone', async () => !api.get('services', NAMESPACE, `a-${app.launcherId}`) && podsOf(app.launcherId).length === 0);
  });
});
