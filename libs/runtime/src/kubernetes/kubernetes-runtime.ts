import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import type * as k8s from '@kubernetes/client-node';
import { DEFAULT_REPOSITORY_URL_POLICY, type RepositoryUrlPolicy } from '@launchpad/contracts';
import { RuntimeError, RuntimeErrorCode } from '../runtime-error.js';
import type {
  AppWorkloadSpec,
  AppWorkloadStatus,
  LogLine,
  LogOptions,
  Runtime,
  WorkloadEvent,
  WorkloadKind,
  WorkloadSpec,
  WorkloadStatus,
} from '../runtime.js';
import { workloadSpecHash } from '../spec-hash.js';
import { assertAppName, assertWorkloadName } from '../workload-name.js';
import type { Informer } from './informer.js';
import { KubeCluster } from './kube-cluster.js';
import { ANNOTATIONS, appNames, LABELS, sessionNames } from './labels.js';
import { appObjects, claimFor, CONTAINERS, type ManifestSettings, ownedBy, serviceFor, sessionObjects } from './manifests.js';
import { podVerdict, sessionVerdict, type PodVerdict } from './workload-status.js';

export interface KubernetesRuntimeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface KubernetesRuntimeOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  /** Which workloads this process drives (its informers, and its Role, cover only these). */
  kinds: WorkloadKind[];
  /** The key of the spec-hash annotations (RUNTIME_SPEC_HASH_KEY): every replica of the service must have the same. */
  specHashKey: Buffer;
  storageClassName?: string | null;
  imagePullSecrets?: string[];
  gitImage: string;
  /** The cluster's DNS domain, for session endpoints `http://<service>.<namespace>.svc.<domain>:<port>`. */
  clusterDomain?: string;
  fieldManager?: string;
  /** Informers re-list this often (client-go's resync); default 5 minutes. */
  resyncMs?: number;
  /** Drift repair and orphan sweep this often; default 30 s (and at once after a deletion we did not make). */
  repairIntervalMs?: number;
  /** An object of ours whose workload is gone is deleted once it is this old (so a half-made workload is not taken for one); default 60 s. */
  orphanGraceMs?: number;
  defaultUid?: number;
  defaultGid?: number;
  /** Which remotes a session's clone may take; default: https and ssh to any host. */
  repositoryPolicy?: RepositoryUrlPolicy;
  logger?: KubernetesRuntimeLogger;
}

const silent: KubernetesRuntimeLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The `kubernetes` driver: a session is a StatefulSet of one replica (0 when hibernated) with a
 * claim for /work and a Service; an app is a Deployment and a Service, its replicas set through the
 * scale subresource and its endpoints read from its EndpointSlices. Reads come from informer
 * caches; writes are server-side apply. See deploy/k8s/base/rbac.yaml for the calls it makes.
 */
export class KubernetesRuntime implements Runtime {
  readonly name = 'kubernetes' as const;
  /** The kubelet restarts a crashed program (CrashLoopBackOff); we report it. */
  readonly restartsCrashedPrograms = true;

  private readonly cluster: KubeCluster;
  private readonly settings: ManifestSettings;
  private readonly clusterDomain: string;
  private readonly logger: KubernetesRuntimeLogger;
  private readonly orphanGraceMs: number;
  private readonly listeners = new Set<(event: WorkloadEvent) => void>();
  private readonly lastEmitted = new Map<string, string>();
  /** Last lines of crashed programs, by `<pod uid>/<container>/<restarts>`: read once per crash. */
  private readonly crashLogs = new Map<string, string[]>();
  private readonly crashLogReads = new Set<string>();
  private readonly ready: Promise<void>;
  private readonly repairTimer: NodeJS.Timeout;
  private repairPending: NodeJS.Timeout | null = null;
  private readonly streams = new Set<AbortController>();
  private closed = false;

  constructor(private readonly options: KubernetesRuntimeOptions) {
    this.logger = options.logger ?? silent;
    this.settings = {
      namespace: options.namespace,
      storageClassName: options.storageClassName ?? null,
      imagePullSecrets: options.imagePullSecrets ?? [],
      gitImage: options.gitImage,
      defaultUid: options.defaultUid ?? 1000,
      defaultGid: options.defaultGid ?? 1000,
      repositoryPolicy: options.repositoryPolicy ?? DEFAULT_REPOSITORY_URL_POLICY,
      specHashKey: options.specHashKey,
    };
    this.clusterDomain = options.clusterDomain ?? 'cluster.local';
    this.orphanGraceMs = options.orphanGraceMs ?? 60_000;
    this.cluster = new KubeCluster(options.kubeConfig, options.namespace, options.fieldManager ?? 'launchpad', options.kinds, {
      resyncMs: options.resyncMs ?? 300_000,
      onError: (resource, error) => this.logger.warn({ resource, err: String((error as Error)?.message ?? error).split('\n')[0] }, 'kubernetes informer: list or watch failed; retrying'),
    });
    const c = this.cluster.caches;
    for (const informer of [c.statefulSets, c.claims, c.sessionServices, c.sessionPods]) {
      informer.on((event, object) => this.onSessionObject(event, object as { metadata?: k8s.V1ObjectMeta } | null));
    }
    for (const informer of [c.deployments, c.appServices, c.appPods, c.endpointSlices]) {
      informer.on((event, object) => this.onAppObject(event, object as { metadata?: k8s.V1ObjectMeta } | null));
    }
    this.ready = this.cluster.start();
    this.ready.catch(() => undefined);
    this.repairTimer = setInterval(() => void this.repair(), options.repairIntervalMs ?? 30_000);
    this.repairTimer.unref();
  }

  /** Resolves once every informer has listed once. */
  synced(): Promise<void> {
    return this.ready;
  }

  /** Informer counters (lists, 410s, watches, errors) per resource: for metrics and tests. */
  informerStats(): Record<string, { lists: number; gone: number; watches: number; errors: number }> {
    return Object.fromEntries(Object.entries(this.cluster.caches).map(([k, v]) => [k, { ...v.stats }]));
  }

  // --- sessions ------------------------------------------------------------------------------

  specHash(spec: WorkloadSpec | AppWorkloadSpec['template']): string {
    return workloadSpecHash(spec, this.settings.specHashKey);
  }

  async ensureRunning(spec: WorkloadSpec): Promise<WorkloadStatus> {
    this.assertOpen();
    assertWorkloadName(spec.id);
    if (spec.kind !== 'session') throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `ensureRunning runs sessions; app replicas are made by ensureApp (got kind "${spec.kind}")`);
    await this.ready;
    const names = sessionNames(spec.id);
    const c = this.cluster.caches;
    const existing = c.statefulSets.get(names.statefulSet);
    const hash = this.specHash(spec);
    const current = existing ? this.sessionStatus(spec.id) : null;
    const objects = sessionObjects(spec, this.settings, 1);
    const upToDate =
      existing &&
      existing.spec?.replicas === 1 &&
      existing.metadata?.annotations?.[ANNOTATIONS.specHash] === hash &&
      c.claims.get(names.claim) &&
      c.sessionServices.get(names.service) &&
      !!c.sessionSecrets.get(names.secret) === !!objects.secret;
    if (upToDate && current && current.phase !== 'failed') return current;
    if (upToDate && current?.phase === 'failed') {
      // Started afresh: a new pod pulls the image again and runs the program from the start.
      await this.cluster.delete('Pod', names.pod);
      return this.sessionStatus(spec.id) ?? current;
    }
    const statefulSet = await this.applyWithSecret(names.secret, objects.secret, existing, c.sessionSecrets, () => this.cluster.applyStatefulSet(objects.statefulSet), { apiVersion: 'apps/v1', kind: 'StatefulSet' });
    await this.cluster.ensureClaim({ ...objects.claim, metadata: { ...objects.claim.metadata, ownerReferences: [ownedBy(statefulSet)] } });
    await this.cluster.applyService({ ...objects.service, metadata: { ...objects.service.metadata, ownerReferences: [ownedBy(statefulSet)] } }, c.sessionServices);
    this.logger.info({ workload: spec.id, statefulSet: names.statefulSet, specHash: hash }, existing ? 'kubernetes: session applied' : 'kubernetes: session created');
    return this.sessionStatus(spec.id)!;
  }

  /**
   * Applies a workload (StatefulSet or Deployment) with its Secret: the Secret first, so that no pod
   * starts before what it reads exists (owned by the workload when it exists already; a new
   * workload's Secret gets its owner reference right after), the workload after. A workload without
   * secrets has no Secret: one left from before is deleted.
   */
  private async applyWithSecret<T extends k8s.V1StatefulSet | k8s.V1Deployment>(
    secretName: string,
    secret: k8s.V1Secret | null,
    existing: T | undefined,
    cache: Informer<k8s.V1Secret>,
    applyWorkload: () => Promise<T>,
    type: { apiVersion: string; kind: string },
  ): Promise<T> {
    const withOwner = (owner: T | undefined): k8s.V1Secret =>
      owner?.metadata?.uid ? { ...secret!, metadata: { ...secret!.metadata, ownerReferences: [ownedBy({ ...owner, ...type })] } } : secret!;
    if (secret) await this.cluster.applySecret(withOwner(existing), cache);
    const workload = await applyWorkload();
    if (secret && workload.metadata?.uid !== existing?.metadata?.uid) await this.cluster.applySecret(withOwner(workload), cache);
    if (!secret && cache.get(secretName)) {
      await this.cluster.delete('Secret', secretName);
      cache.forget(secretName);
    }
    return workload;
  }

  /**
   * Hibernation: replicas 0 through the scale subresource; the claim (the user's files) stays. Its
   * Secret goes, as the process driver removes a stopped workload's secret files: nothing of them
   * is kept while it is hibernated, and `ensureRunning` writes it again (with the values of then).
   */
  async stop(id: string): Promise<void> {
    this.assertOpen();
    await this.ready;
    const names = sessionNames(id);
    if (!this.cluster.caches.statefulSets.get(names.statefulSet) && !(await this.cluster.readStatefulSet(names.statefulSet))) return;
    if (await this.cluster.scale('StatefulSet', names.statefulSet, 0)) await this.cluster.readStatefulSet(names.statefulSet);
    if (this.cluster.caches.sessionSecrets.get(names.secret)) {
      await this.cluster.delete('Secret', names.secret);
      this.cluster.caches.sessionSecrets.forget(names.secret);
    }
  }

  /** The StatefulSet goes, and the garbage collector takes its pod, claim and Service; we delete those too, in case their owner reference never got set. */
  async remove(id: string): Promise<void> {
    this.assertOpen();
    await this.ready;
    const names = sessionNames(id);
    const c = this.cluster.caches;
    await this.cluster.delete('StatefulSet', names.statefulSet);
    await this.cluster.delete('Service', names.service);
    await this.cluster.delete('PersistentVolumeClaim', names.claim);
    await this.cluster.delete('Secret', names.secret);
    c.statefulSets.forget(names.statefulSet);
    c.sessionServices.forget(names.service);
    c.claims.forget(names.claim);
    c.sessionSecrets.forget(names.secret);
    this.lastEmitted.delete(id);
    this.logger.info({ workload: id }, 'kubernetes: session removed');
  }

  async status(id: string): Promise<WorkloadStatus | null> {
    await this.ready;
    return this.sessionStatus(id) ?? this.replicaStatus(id);
  }

  async list(): Promise<WorkloadStatus[]> {
    await this.ready;
    const c = this.cluster.caches;
    const sessions = c.statefulSets
      .values()
      .map((s) => s.metadata?.labels?.[LABELS.workload])
      .filter((id): id is string => !!id)
      .map((id) => this.sessionStatus(id))
      .filter((s): s is WorkloadStatus => s !== null);
    const replicas = c.appPods
      .values()
      .map((p) => this.replicaStatus(p.metadata!.name!))
      .filter((s): s is WorkloadStatus => s !== null);
    return [...sessions, ...replicas];
  }

  private sessionStatus(id: string): WorkloadStatus | null {
    const names = sessionNames(id);
    const c = this.cluster.caches;
    const statefulSet = c.statefulSets.get(names.statefulSet);
    if (!statefulSet) return null;
    const pod = c.sessionPods.get(names.pod);
    const crashLog = pod ? this.crashLogOf(pod) : null;
    const verdict = crashLog === undefined ? this.readingCrashLog(pod!) : sessionVerdict(statefulSet, c.claims.get(names.claim), pod, crashLog);
    const service = c.sessionServices.get(names.service);
    const port = service?.spec?.ports?.[0]?.port;
    const reachable = (verdict.phase === 'starting' || verdict.phase === 'ready') && service && port;
    return {
      id,
      kind: 'session',
      owner: { service: 'sessions', id: statefulSet.metadata?.labels?.[LABELS.ownerId] ?? id },
      ...verdict,
      endpoint: reachable ? `http://${names.service}.${this.options.namespace}.svc.${this.clusterDomain}:${port}` : null,
      specHash: pod?.metadata?.annotations?.[ANNOTATIONS.specHash] ?? statefulSet.metadata?.annotations?.[ANNOTATIONS.specHash] ?? null,
    };
  }

  // --- apps ----------------------------------------------------------------------------------

  async ensureApp(spec: AppWorkloadSpec): Promise<AppWorkloadStatus> {
    this.assertOpen();
    assertAppName(spec.appId);
    await this.ready;
    const objects = appObjects(spec, this.settings);
    const existing = this.cluster.caches.deployments.get(appNames(spec.appId).deployment);
    const deployment = await this.applyWithSecret(appNames(spec.appId).secret, objects.secret, existing, this.cluster.caches.appSecrets, () => this.cluster.applyDeployment(objects.deployment), { apiVersion: 'apps/v1', kind: 'Deployment' });
    await this.cluster.applyService({ ...objects.service, metadata: { ...objects.service.metadata, ownerReferences: [ownedBy(deployment)] } }, this.cluster.caches.appServices);
    await this.setDeletionCosts(spec.appId, spec.removeFirst ?? []);
    return this.appStatusOf(spec.appId)!;
  }

  async scaleApp(appId: string, replicas: number, removeFirst: string[] = []): Promise<AppWorkloadStatus | null> {
    this.assertOpen();
    await this.ready;
    const name = appNames(appId).deployment;
    if (!this.cluster.caches.deployments.get(name) && !(await this.cluster.readDeployment(name))) return null;
    await this.setDeletionCosts(appId, removeFirst);
    if (!(await this.cluster.scale('Deployment', name, replicas))) return null;
    await this.cluster.readDeployment(name);
    return this.appStatusOf(appId);
  }

  async appStatus(appId: string): Promise<AppWorkloadStatus | null> {
    await this.ready;
    return this.appStatusOf(appId);
  }

  async listApps(): Promise<AppWorkloadStatus[]> {
    await this.ready;
    return this.cluster.caches.deployments
      .values()
      .map((d) => d.metadata?.labels?.[LABELS.app])
      .filter((id): id is string => !!id)
      .map((id) => this.appStatusOf(id))
      .filter((s): s is AppWorkloadStatus => s !== null);
  }

  async removeApp(appId: string): Promise<void> {
    this.assertOpen();
    await this.ready;
    const names = appNames(appId);
    await this.cluster.delete('Deployment', names.deployment);
    await this.cluster.delete('Service', names.service);
    await this.cluster.delete('Secret', names.secret);
    this.cluster.caches.deployments.forget(names.deployment);
    this.cluster.caches.appServices.forget(names.service);
    this.cluster.caches.appSecrets.forget(names.secret);
    this.logger.info({ app: appId }, 'kubernetes: app removed');
  }

  /**
   * `controller.kubernetes.io/pod-deletion-cost`: the ReplicaSet controller removes the pods with
   * the lowest cost first. The first of `removeFirst` gets the lowest; a pod no longer listed loses
   * the annotation.
   */
  private async setDeletionCosts(appId: string, removeFirst: string[]): Promise<void> {
    const pods = this.podsOfApp(appId);
    for (const pod of pods) {
      const name = pod.metadata!.name!;
      const index = removeFirst.indexOf(name);
      const want = index >= 0 ? String(-1000 + index) : null;
      const have = pod.metadata?.annotations?.[ANNOTATIONS.deletionCost] ?? null;
      if (want !== have) await this.cluster.annotatePod(name, ANNOTATIONS.deletionCost, want);
    }
  }

  private podsOfApp(appId: string): k8s.V1Pod[] {
    return this.cluster.caches.appPods.values().filter((p) => p.metadata?.labels?.[LABELS.app] === appId && !p.metadata?.deletionTimestamp);
  }

  private appStatusOf(appId: string): AppWorkloadStatus | null {
    const names = appNames(appId);
    const c = this.cluster.caches;
    const deployment = c.deployments.get(names.deployment);
    if (!deployment) return null;
    // Endpoints: every ready, not terminating address in the app Service's slices, as kube-proxy would route.
    const endpoints: { pod: string; url: string }[] = [];
    for (const slice of c.endpointSlices.values()) {
      if (slice.metadata?.labels?.['kubernetes.io/service-name'] !== names.service) continue;
      const port = slice.ports?.find((p) => p.name === 'http')?.port ?? slice.ports?.[0]?.port;
      if (!port) continue;
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.conditions?.ready === false || endpoint.conditions?.terminating === true) continue;
        for (const address of endpoint.addresses ?? []) endpoints.push({ pod: endpoint.targetRef?.name ?? address, url: `http://${address.includes(':') ? `[${address}]` : address}:${port}` });
      }
    }
    endpoints.sort((a, b) => a.pod.localeCompare(b.pod));
    const instances = c.appPods
      .values()
      .filter((p) => p.metadata?.labels?.[LABELS.app] === appId)
      .map((p) => this.replicaStatus(p.metadata!.name!)!)
      .filter((s) => s !== null)
      .sort((a, b) => a.id.localeCompare(b.id));
    return {
      appId,
      generation: Number(deployment.spec?.template?.metadata?.labels?.[LABELS.generation] ?? deployment.metadata?.labels?.[LABELS.generation] ?? 0),
      replicas: deployment.spec?.replicas ?? 0,
      readyReplicas: deployment.status?.readyReplicas ?? 0,
      specHash: deployment.metadata?.annotations?.[ANNOTATIONS.specHash] ?? '',
      endpoints: [...new Set(endpoints.map((e) => e.url))],
      instances,
    };
  }

  private replicaStatus(podName: string): WorkloadStatus | null {
    const pod = this.cluster.caches.appPods.get(podName);
    const appId = pod?.metadata?.labels?.[LABELS.app];
    if (!pod || !appId) return null;
    const crashLog = this.crashLogOf(pod);
    const verdict: PodVerdict = pod.metadata?.deletionTimestamp
      ? { ...podVerdict(pod, null), phase: 'stopped', reason: null, message: 'draining: being removed' }
      : crashLog === undefined
        ? this.readingCrashLog(pod)
        : podVerdict(pod, crashLog);
    const port = pod.spec?.containers.find((c) => c.name === CONTAINERS.main)?.ports?.[0]?.containerPort;
    const ip = pod.status?.podIP;
    const reachable = (verdict.phase === 'starting' || verdict.phase === 'ready') && ip && port;
    return {
      id: podName,
      kind: 'app',
      owner: { service: 'apps', id: appId },
      ...verdict,
      endpoint: reachable ? `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}` : null,
      specHash: pod.metadata?.annotations?.[ANNOTATIONS.specHash] ?? null,
    };
  }

  // --- logs ----------------------------------------------------------------------------------

  /** The pod that runs a workload: a session's StatefulSet pod, or the app replica (its id is its pod's name). */
  private podOf(id: string): string {
    return this.cluster.caches.appPods.get(id) ? id : sessionNames(id).pod;
  }

  async logs(id: string, lines: number): Promise<string[]> {
    await this.ready;
    return (await this.cluster.readLog(this.podOf(id), CONTAINERS.main, { tailLines: lines })) ?? [];
  }

  async *streamLogs(id: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    await this.ready;
    const stream = new PassThrough();
    let controller: AbortController;
    try {
      controller = await this.cluster.followLog(this.podOf(id), CONTAINERS.main, stream, {
        follow: options.follow ?? false,
        timestamps: true,
        ...(options.tailLines !== undefined ? { tailLines: options.tailLines } : {}),
        ...(options.sinceTime ? { sinceTime: options.sinceTime.toISOString() } : {}),
      });
    } catch (error) {
      const code = (error as { statusCode?: number; code?: number }).statusCode ?? (error as { code?: number }).code;
      if (code === 404 || code === 400) return;
      throw new RuntimeError(RuntimeErrorCode.UNAVAILABLE, `could not read the log of ${id}: ${String((error as Error)?.message ?? error)}`, { cause: error });
    }
    this.streams.add(controller);
    const onAbort = () => {
      controller.abort();
      stream.end();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const raw of createInterface({ input: stream, crlfDelay: Infinity })) {
        yield parseTimestamped(raw as string);
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      controller.abort();
      this.streams.delete(controller);
    }
  }

  /** @deprecated Use streamLogs. The cursor is the time of the last line returned and how many lines had that time. */
  async logsAfter(id: string, cursor: string | null, lines: number, maxBytes = 256 * 1024): Promise<{ lines: string[]; cursor: string }> {
    await this.ready;
    const from = cursor ? (JSON.parse(cursor) as { t: string; n: number }) : null;
    const raw = (await this.cluster.readLog(this.podOf(id), CONTAINERS.main, from ? { sinceTime: from.t, timestamps: true } : { tailLines: lines, timestamps: true })) ?? [];
    let parsed = raw.map(parseTimestamped);
    if (from) {
      let skip = from.n;
      parsed = parsed.filter((l) => !(l.time === from.t && skip-- > 0));
    }
    const out: LogLine[] = [];
    let bytes = 0;
    for (const l of parsed) {
      bytes += Buffer.byteLength(l.text) + 1;
      if (bytes > maxBytes && out.length > 0) break;
      out.push(l);
    }
    const last = out[out.length - 1];
    const next = last?.time ? { t: last.time, n: out.filter((l) => l.time === last.time).length + (from && from.t === last.time ? from.n : 0) } : from ?? { t: new Date(0).toISOString(), n: 0 };
    return { lines: out.map((l) => l.text), cursor: JSON.stringify(next) };
  }

  // --- changes -------------------------------------------------------------------------------

  watch(listener: (event: WorkloadEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.repairTimer);
    if (this.repairPending) clearTimeout(this.repairPending);
    for (const s of this.streams) s.abort();
    this.cluster.stop();
    this.listeners.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new RuntimeError(RuntimeErrorCode.CLOSED, 'the kubernetes runtime is closed');
  }

  private emitIfChanged(id: string, status: WorkloadStatus | null): void {
    if (!status) return;
    const key = JSON.stringify(status);
    if (this.lastEmitted.get(id) === key) return;
    this.lastEmitted.set(id, key);
    for (const l of this.listeners) {
      try {
        l({ id, status });
      } catch (error) {
        this.logger.error({ workload: id, err: String(error) }, 'kubernetes runtime: a watch listener threw');
      }
    }
  }

  private onSessionObject(event: string, object: { metadata?: k8s.V1ObjectMeta } | null): void {
    if (this.closed || !object) return;
    const id = object.metadata?.labels?.[LABELS.workload];
    if (!id) return;
    this.noteCrash(object as k8s.V1Pod, () => this.emitIfChanged(id, this.sessionStatus(id)));
    this.emitIfChanged(id, this.sessionStatus(id));
    if (event === 'deleted') this.repairSoon();
  }

  private onAppObject(event: string, object: { metadata?: k8s.V1ObjectMeta } | null): void {
    if (this.closed || !object) return;
    const appId = object.metadata?.labels?.[LABELS.app];
    if (!appId) return;
    this.noteCrash(object as k8s.V1Pod, () => this.emitIfChanged(object.metadata!.name!, this.replicaStatus(object.metadata!.name!)));
    // An endpoint or Deployment change may change every replica's status: look at each.
    for (const pod of this.podsOfApp(appId)) this.emitIfChanged(pod.metadata!.name!, this.replicaStatus(pod.metadata!.name!));
    if (event === 'deleted') this.repairSoon();
  }

  private crashKey(pod: k8s.V1Pod): { key: string; container: string } | null {
    const verdict = podVerdict(pod, null);
    if (verdict.reason !== 'CrashLoopBackOff' && verdict.reason !== 'PreparationFailed') return null;
    const container = verdict.reason === 'PreparationFailed' ? CONTAINERS.clone : CONTAINERS.main;
    return { key: `${pod.metadata?.uid}/${container}/${verdict.restarts}`, container };
  }

  /**
   * The crashed program's last lines; null when it did not crash; undefined while they are being
   * read (a moment: then the status says `failed` once, with them, rather than twice).
   */
  private crashLogOf(pod: k8s.V1Pod): string[] | null | undefined {
    const k = this.crashKey(pod);
    if (!k) return null;
    const lines = this.crashLogs.get(k.key);
    if (lines) return lines;
    if (!this.crashLogReads.has(k.key)) this.noteCrash(pod, () => this.emitIfChanged(this.workloadIdOf(pod), this.sessionStatus(this.workloadIdOf(pod)) ?? this.replicaStatus(this.workloadIdOf(pod))));
    return undefined;
  }

  private workloadIdOf(pod: k8s.V1Pod): string {
    return pod.metadata?.labels?.[LABELS.workload] ?? pod.metadata!.name!;
  }

  /** While the crash log is read: what it was before the crash, without the crash's verdict. */
  private readingCrashLog(pod: k8s.V1Pod): PodVerdict {
    return { ...podVerdict(pod, null), phase: 'starting', reason: null, message: null, exitCode: null };
  }

  /** A crashed program: read its last lines once (of the container that ran before, `previous`), so its status can quote them. */
  private noteCrash(pod: k8s.V1Pod, then: () => void): void {
    if (!pod?.status || !Array.isArray(pod.spec?.containers)) return; // pods only
    const k = this.crashKey(pod);
    if (!k || this.crashLogReads.has(k.key)) return;
    this.crashLogReads.add(k.key);
    const name = pod.metadata!.name!;
    void (async () => {
      const lines = (await this.cluster.readLog(name, k.container, { tailLines: 20, previous: true }).catch(() => null)) ?? (await this.cluster.readLog(name, k.container, { tailLines: 20 }).catch(() => null));
      if (this.closed) return;
      this.crashLogs.set(k.key, lines ?? []);
      then();
    })();
  }

  // --- drift and orphans ---------------------------------------------------------------------

  private repairSoon(): void {
    if (this.repairPending || this.closed) return;
    this.repairPending = setTimeout(() => {
      this.repairPending = null;
      void this.repair();
    }, 100);
    this.repairPending.unref();
  }

  private repairing = false;

  /**
   * What a controller's reconcile does for the objects it owns: re-creates a session's or app's
   * Service (and a session's claim) that someone deleted, and deletes objects of ours (Services,
   * claims, Secrets) whose workload is gone (a crash between two writes, a StatefulSet deleted with `--cascade=orphan`).
   */
  private async repair(): Promise<void> {
    if (this.repairing || this.closed) return;
    this.repairing = true;
    try {
      await this.ready;
      const c = this.cluster.caches;
      const ns = this.options.namespace;
      for (const sts of c.statefulSets.values()) {
        const id = sts.metadata?.labels?.[LABELS.workload];
        if (!id || sts.metadata?.deletionTimestamp) continue;
        const names = sessionNames(id);
        const labels = sts.metadata?.labels ?? {};
        const selector = sts.spec?.selector?.matchLabels ?? {};
        if (!c.sessionServices.get(names.service)) {
          const port = Number(sts.metadata?.annotations?.[ANNOTATIONS.servicePort] ?? 0);
          if (port > 0) {
            await this.cluster.applyService({ ...serviceFor(names.service, labels, selector, port, ns), metadata: { name: names.service, namespace: ns, labels, ownerReferences: [ownedBy({ ...sts, apiVersion: 'apps/v1', kind: 'StatefulSet' })] } }, c.sessionServices);
            this.logger.warn({ workload: id, service: names.service }, 'kubernetes: drift repaired: the session Service was missing and is re-created');
          }
        }
        if (!c.claims.get(names.claim) && (sts.spec?.replicas ?? 0) > 0) {
          const disk = Number(sts.metadata?.annotations?.[ANNOTATIONS.diskGb] ?? 1);
          const storageClass = sts.metadata?.annotations?.[ANNOTATIONS.storageClass] || null;
          const claim = claimFor(id, labels, ns, disk, storageClass);
          await this.cluster.ensureClaim({ ...claim, metadata: { ...claim.metadata, ownerReferences: [ownedBy({ ...sts, apiVersion: 'apps/v1', kind: 'StatefulSet' })] } });
          this.logger.warn({ workload: id, claim: names.claim }, 'kubernetes: drift repaired: the session claim was missing and is re-created (empty: its files were lost with it)');
        }
      }
      for (const deployment of c.deployments.values()) {
        const appId = deployment.metadata?.labels?.[LABELS.app];
        if (!appId || deployment.metadata?.deletionTimestamp) continue;
        const names = appNames(appId);
        if (!c.appServices.get(names.service)) {
          const port = Number(deployment.metadata?.annotations?.[ANNOTATIONS.servicePort] ?? 0);
          const labels = { ...(deployment.metadata?.labels ?? {}) };
          delete labels[LABELS.generation];
          if (port > 0) {
            await this.cluster.applyService({ ...serviceFor(names.service, labels, deployment.spec?.selector?.matchLabels ?? {}, port, ns), metadata: { name: names.service, namespace: ns, labels, ownerReferences: [ownedBy({ ...deployment, apiVersion: 'apps/v1', kind: 'Deployment' })] } }, c.appServices);
            this.logger.warn({ app: appId, service: names.service }, 'kubernetes: drift repaired: the app Service was missing and is re-created');
          }
        }
      }
      await this.deleteOrphans();
    } catch (error) {
      this.logger.warn({ err: String((error as Error)?.message ?? error) }, 'kubernetes: drift repair failed; trying again on the next pass');
    } finally {
      this.repairing = false;
    }
  }

  private async deleteOrphans(): Promise<void> {
    const c = this.cluster.caches;
    const old = (o: { metadata?: k8s.V1ObjectMeta }) => Date.now() - new Date(String(o.metadata?.creationTimestamp ?? 0)).getTime() > this.orphanGraceMs;
    const candidates: { kind: 'Service' | 'PersistentVolumeClaim' | 'Secret'; name: string; owner: () => Promise<boolean> }[] = [];
    const sessionKinds = [
      ...c.sessionServices.values().map((o) => ({ o, kind: 'Service' as const })),
      ...c.claims.values().map((o) => ({ o, kind: 'PersistentVolumeClaim' as const })),
      ...c.sessionSecrets.values().map((o) => ({ o, kind: 'Secret' as const })),
    ];
    for (const { o, kind } of sessionKinds) {
      const id = o.metadata?.labels?.[LABELS.workload];
      if (!id || c.statefulSets.get(sessionNames(id).statefulSet) || !old(o)) continue;
      candidates.push({ kind, name: o.metadata!.name!, owner: async () => (await this.cluster.readStatefulSet(sessionNames(id).statefulSet)) !== null });
    }
    const appKinds = [...c.appServices.values().map((o) => ({ o, kind: 'Service' as const })), ...c.appSecrets.values().map((o) => ({ o, kind: 'Secret' as const }))];
    for (const { o, kind } of appKinds) {
      const appId = o.metadata?.labels?.[LABELS.app];
      if (!appId || c.deployments.get(appNames(appId).deployment) || !old(o)) continue;
      candidates.push({ kind, name: o.metadata!.name!, owner: async () => (await this.cluster.readDeployment(appNames(appId).deployment)) !== null });
    }
    for (const candidate of candidates) {
      // The cache may lag: ask the API server before deleting anything.
      if (await candidate.owner()) continue;
      await this.cluster.delete(candidate.kind, candidate.name);
      if (candidate.kind === 'Service') {
        c.sessionServices.forget(candidate.name);
        c.appServices.forget(candidate.name);
      } else if (candidate.kind === 'Secret') {
        c.sessionSecrets.forget(candidate.name);
        c.appSecrets.forget(candidate.name);
      } else c.claims.forget(candidate.name);
      this.logger.warn({ kind: candidate.kind, name: candidate.name }, 'kubernetes: orphan deleted: its session or app no longer exists');
    }
  }
}

/** `2026-01-02T03:04:05.123456789Z text` (the kubelet's `timestamps=true` form) → its time and text. */
function parseTimestamped(raw: string): LogLine {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (.*)$/.exec(raw);
  return m ? { time: m[1]!, text: m[2]! } : { time: null, text: raw };
}
