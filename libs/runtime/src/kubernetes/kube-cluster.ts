import * as k8s from '@kubernetes/client-node';
import type { WorkloadKind } from '../runtime.js';
import { Informer, type InformerOptions } from './informer.js';
import { isConflict, isNotFound, toRuntimeError } from './kube-errors.js';
import { kindSelector } from './labels.js';

/** Objects as the API sends them, in plain JSON (client-node's typed calls return class instances with Dates). */
export const plain = <T>(object: T): T => JSON.parse(JSON.stringify(object)) as T;

const applyOptions = () => k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
const mergeOptions = () => k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export interface ClusterCaches {
  statefulSets: Informer<k8s.V1StatefulSet>;
  claims: Informer<k8s.V1PersistentVolumeClaim>;
  sessionServices: Informer<k8s.V1Service>;
  sessionPods: Informer<k8s.V1Pod>;
  deployments: Informer<k8s.V1Deployment>;
  appServices: Informer<k8s.V1Service>;
  appPods: Informer<k8s.V1Pod>;
  endpointSlices: Informer<k8s.V1EndpointSlice>;
  /** The workloads' own Secrets (secret variables and files), by label: never anyone else's. */
  sessionSecrets: Informer<k8s.V1Secret>;
  appSecrets: Informer<k8s.V1Secret>;
}

/**
 * The calls the driver makes, each named for what it does and mapped to a RuntimeError when it
 * fails; and the informers whose caches the driver reads. Every write is server-side apply with
 * our field manager and `force` (we own these objects: another manager's edit of a field we set is
 * drift, and we take it back), or a merge patch of the scale subresource.
 */
export class KubeCluster {
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  readonly discovery: k8s.DiscoveryV1Api;
  readonly caches: ClusterCaches;
  private readonly started: Informer<{ metadata?: { name?: string } }>[] = [];
  private readonly log: k8s.Log;

  constructor(
    readonly kubeConfig: k8s.KubeConfig,
    readonly namespace: string,
    readonly fieldManager: string,
    kinds: WorkloadKind[],
    informerOptions: InformerOptions,
  ) {
    this.core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
    this.discovery = kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    this.log = new k8s.Log(kubeConfig);
    const watch = new k8s.Watch(kubeConfig);
    const ns = namespace;
    const sessions = kindSelector('session');
    const apps = kindSelector('app');
    const make = <T extends { metadata?: { name?: string; resourceVersion?: string } }>(
      resource: string,
      path: string,
      labelSelector: string,
      list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>,
    ) =>
      new Informer<T>(
        {
          resource,
          path,
          labelSelector,
          list: async () => {
            const result = await list();
            return { items: plain(result.items), resourceVersion: result.metadata?.resourceVersion ?? '' };
          },
        },
        watch,
        informerOptions,
      );
    this.caches = {
      statefulSets: make('statefulsets', `/apis/apps/v1/namespaces/${ns}/statefulsets`, sessions, () => this.apps.listNamespacedStatefulSet({ namespace: ns, labelSelector: sessions })),
      claims: make('persistentvolumeclaims', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, sessions, () => this.core.listNamespacedPersistentVolumeClaim({ namespace: ns, labelSelector: sessions })),
      sessionServices: make('services', `/api/v1/namespaces/${ns}/services`, sessions, () => this.core.listNamespacedService({ namespace: ns, labelSelector: sessions })),
      sessionPods: make('pods', `/api/v1/namespaces/${ns}/pods`, sessions, () => this.core.listNamespacedPod({ namespace: ns, labelSelector: sessions })),
      deployments: make('deployments', `/apis/apps/v1/namespaces/${ns}/deployments`, apps, () => this.apps.listNamespacedDeployment({ namespace: ns, labelSelector: apps })),
      appServices: make('services', `/api/v1/namespaces/${ns}/services`, apps, () => this.core.listNamespacedService({ namespace: ns, labelSelector: apps })),
      appPods: make('pods', `/api/v1/namespaces/${ns}/pods`, apps, () => this.core.listNamespacedPod({ namespace: ns, labelSelector: apps })),
      // The EndpointSlice controller copies the Service's labels onto its slices.
      endpointSlices: make('endpointslices', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, apps, () => this.discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: apps })),
      sessionSecrets: make('secrets', `/api/v1/namespaces/${ns}/secrets`, sessions, () => this.core.listNamespacedSecret({ namespace: ns, labelSelector: sessions })),
      appSecrets: make('secrets', `/api/v1/namespaces/${ns}/secrets`, apps, () => this.core.listNamespacedSecret({ namespace: ns, labelSelector: apps })),
    };
    const c = this.caches;
    const wanted = [
      ...(kinds.includes('session') ? [c.statefulSets, c.claims, c.sessionServices, c.sessionPods, c.sessionSecrets] : []),
      ...(kinds.includes('app') ? [c.deployments, c.appServices, c.appPods, c.endpointSlices, c.appSecrets] : []),
    ];
    this.started.push(...(wanted as Informer<{ metadata?: { name?: string } }>[]));
  }

  start(): Promise<void> {
    for (const i of this.started) i.start();
    return Promise.all(this.started.map((i) => i.synced)).then(() => undefined);
  }

  stop(): void {
    for (const i of this.started) i.stop();
  }

  // --- writes --------------------------------------------------------------------------------

  async applyStatefulSet(body: k8s.V1StatefulSet): Promise<k8s.V1StatefulSet> {
    const name = body.metadata!.name!;
    const result = await this.call(`apply StatefulSet ${name}`, () =>
      this.apps.patchNamespacedStatefulSet({ name, namespace: this.namespace, body, fieldManager: this.fieldManager, force: true }, applyOptions()),
    );
    const object = plain(result);
    this.caches.statefulSets.upsert(object);
    return object;
  }

  async applyDeployment(body: k8s.V1Deployment): Promise<k8s.V1Deployment> {
    const name = body.metadata!.name!;
    const result = await this.call(`apply Deployment ${name}`, () =>
      this.apps.patchNamespacedDeployment({ name, namespace: this.namespace, body, fieldManager: this.fieldManager, force: true }, applyOptions()),
    );
    const object = plain(result);
    this.caches.deployments.upsert(object);
    return object;
  }

  async applyService(body: k8s.V1Service, cache: Informer<k8s.V1Service>): Promise<k8s.V1Service> {
    const name = body.metadata!.name!;
    const result = await this.call(`apply Service ${name}`, () =>
      this.core.patchNamespacedService({ name, namespace: this.namespace, body, fieldManager: this.fieldManager, force: true }, applyOptions()),
    );
    const object = plain(result);
    cache.upsert(object);
    return object;
  }

  /** A workload's Secret, applied whole: keys it no longer has are removed (server-side apply drops what our manager stops applying). */
  async applySecret(body: k8s.V1Secret, cache: Informer<k8s.V1Secret>): Promise<k8s.V1Secret> {
    const name = body.metadata!.name!;
    const result = await this.call(`apply Secret ${name}`, () =>
      this.core.patchNamespacedSecret({ name, namespace: this.namespace, body, fieldManager: this.fieldManager, force: true }, applyOptions()),
    );
    const object = plain(result);
    cache.upsert(object);
    return object;
  }

  /**
   * A claim's spec is immutable once bound (but for growing it), so it is created, never applied
   * again: an existing claim is kept as it is, with the user's files.
   */
  async ensureClaim(body: k8s.V1PersistentVolumeClaim): Promise<void> {
    const name = body.metadata!.name!;
    try {
      const created = await this.core.createNamespacedPersistentVolumeClaim({ namespace: this.namespace, body, fieldManager: this.fieldManager });
      this.caches.claims.upsert(plain(created));
    } catch (error) {
      if (isConflict(error)) return; // AlreadyExists: it is there, keep it.
      throw toRuntimeError(error, `create PersistentVolumeClaim ${name}`);
    }
  }

  /** Replicas through the scale subresource, as `kubectl scale` and the HorizontalPodAutoscaler do. */
  async scale(kind: 'StatefulSet' | 'Deployment', name: string, replicas: number): Promise<boolean> {
    const body = { spec: { replicas } };
    try {
      if (kind === 'StatefulSet') await this.apps.patchNamespacedStatefulSetScale({ name, namespace: this.namespace, body, fieldManager: this.fieldManager }, mergeOptions());
      else await this.apps.patchNamespacedDeploymentScale({ name, namespace: this.namespace, body, fieldManager: this.fieldManager }, mergeOptions());
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw toRuntimeError(error, `scale ${kind} ${name} to ${replicas}`);
    }
  }

  async readStatefulSet(name: string): Promise<k8s.V1StatefulSet | null> {
    try {
      const object = plain(await this.apps.readNamespacedStatefulSet({ name, namespace: this.namespace }));
      this.caches.statefulSets.upsert(object);
      return object;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw toRuntimeError(error, `read StatefulSet ${name}`);
    }
  }

  async readDeployment(name: string): Promise<k8s.V1Deployment | null> {
    try {
      const object = plain(await this.apps.readNamespacedDeployment({ name, namespace: this.namespace }));
      this.caches.deployments.upsert(object);
      return object;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw toRuntimeError(error, `read Deployment ${name}`);
    }
  }

  /** Sets or clears (null) one annotation of a pod; a pod that is gone is fine. */
  async annotatePod(name: string, key: string, value: string | null): Promise<void> {
    try {
      await this.core.patchNamespacedPod({ name, namespace: this.namespace, body: { metadata: { annotations: { [key]: value } } }, fieldManager: this.fieldManager }, mergeOptions());
    } catch (error) {
      if (isNotFound(error)) return;
      throw toRuntimeError(error, `annotate pod ${name}`);
    }
  }

  /** Deletes with background propagation: the garbage collector removes what the object owns. 404 is success. */
  async delete(kind: 'StatefulSet' | 'Deployment' | 'Service' | 'PersistentVolumeClaim' | 'Pod' | 'Secret', name: string): Promise<void> {
    const namespace = this.namespace;
    const propagationPolicy = 'Background';
    try {
      switch (kind) {
        case 'StatefulSet':
          await this.apps.deleteNamespacedStatefulSet({ name, namespace, propagationPolicy });
          break;
        case 'Deployment':
          await this.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy });
          break;
        case 'Service':
          await this.core.deleteNamespacedService({ name, namespace, propagationPolicy });
          break;
        case 'PersistentVolumeClaim':
          await this.core.deleteNamespacedPersistentVolumeClaim({ name, namespace, propagationPolicy });
          break;
        case 'Pod':
          await this.core.deleteNamespacedPod({ name, namespace, propagationPolicy });
          break;
        case 'Secret':
          await this.core.deleteNamespacedSecret({ name, namespace, propagationPolicy });
          break;
      }
    } catch (error) {
      if (isNotFound(error)) return;
      throw toRuntimeError(error, `delete ${kind} ${name}`);
    }
  }

  // --- logs ----------------------------------------------------------------------------------

  /** Lines of a container's output; null when it has none to give yet (not started, unknown pod). */
  async readLog(pod: string, container: string, options: { tailLines?: number; sinceTime?: string; previous?: boolean; timestamps?: boolean }): Promise<string[] | null> {
    try {
      const text = await this.core.readNamespacedPodLog({ name: pod, namespace: this.namespace, container, ...options });
      const lines = String(text ?? '').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      return lines;
    } catch (error) {
      const status = (error as { code?: number }).code;
      // 404: no such pod; 400: "container ... is waiting to start" or no previous container.
      if (status === 404 || status === 400) return null;
      throw toRuntimeError(error, `read the log of pod ${pod}`);
    }
  }

  /** Follows a container's output into `stream` (`kubectl logs -f`); the controller stops it. */
  followLog(pod: string, container: string, stream: NodeJS.WritableStream, options: k8s.LogOptions): Promise<AbortController> {
    return this.log.log(this.namespace, pod, container, stream as never, options);
  }

  /** Runs a call, re-trying after a 409 Conflict (someone wrote in between: our next try reads afresh), then maps failures. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (isConflict(error) && attempt < 3) continue;
        throw toRuntimeError(error, what);
      }
    }
  }
}
