import { ReconcileController, type ReconcileResult } from '../reconcile-controller.js';
import type { AppWorkloadSpec, AppWorkloadStatus, Runtime, WorkloadSpec, WorkloadStatus } from '../runtime.js';
import { isActive } from '../runtime.js';
import { assertAppName } from '../workload-name.js';
import { KeyedMutex } from './keyed-mutex.js';
import { type CrashRecord, parseReplicaId, planAppReplicas, type RestartPolicy } from './app-replicas-plan.js';

/** What the app layer needs of the process driver: its single-workload calls. */
export type WorkloadCalls = Pick<Runtime, 'ensureRunning' | 'stop' | 'remove' | 'status' | 'list' | 'watch' | 'specHash'>;

/** Who leads among the replicas of the service over one data directory; the Leadership of the apps service fits. */
export interface LeadershipSource {
  readonly isLeader: boolean;
  onChange(listener: (isLeader: boolean) => void): void;
}

export interface ProcessAppsOptions {
  /** How long a replica out of rotation keeps serving before it is stopped, unless the app's spec says. Default 10 000. */
  drainMs?: number;
  /** The longest a busy draining replica is kept (requests still in flight on it). Default 300 000. */
  maxDrainMs?: number;
  /** Whether requests are in flight on a replica's endpoint (the activators report it); a busy one drains up to maxDrainMs. */
  busy?: (endpoint: string) => boolean;
  /** Restart of crashed replicas; defaults: 1 s doubling up to 5 min, a crash within 60 s of starting counts towards the streak. */
  restart?: Partial<RestartPolicy>;
  /** Only the leader runs replicas; without one, this instance always acts. */
  leadership?: LeadershipSource;
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

interface AppEntry {
  spec: AppWorkloadSpec;
  specHash: string;
}

/**
 * Apps for the process driver: what a Deployment controller and the kubelet do in a cluster,
 * done here on one ReconcileController keyed by app. The app's spec lives in memory only: the
 * apps service's reconciler sets it again (ensureApp) on every reconcile, and a new leader does so
 * on its first resync; until then, appStatus reports what runs from the workloads themselves.
 * Only the leader acts: losing the lead forgets every app, so a former leader never acts on an
 * app that changed since.
 */
export class ProcessApps {
  private readonly apps = new Map<string, AppEntry>();
  private readonly draining = new Map<string, number>();
  private crashes = new Map<string, CrashRecord>();
  private readonly controller: ReconcileController;
  private readonly restart: RestartPolicy;
  private readonly drainMs: number;
  private readonly maxDrainMs: number;
  private readonly busy: (endpoint: string) => boolean;
  private readonly leadership: LeadershipSource | undefined;
  private readonly logger: NonNullable<ProcessAppsOptions['logger']> | undefined;
  private readonly unwatch: () => void;
  /** One reconcile or removal of an app at a time, so that a removal never races a start it would miss. */
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly workloads: WorkloadCalls,
    options: ProcessAppsOptions = {},
  ) {
    this.restart = { backoffMs: 1_000, maxBackoffMs: 5 * 60_000, windowMs: 60_000, ...options.restart };
    this.drainMs = options.drainMs ?? 10_000;
    this.maxDrainMs = Math.max(this.drainMs, options.maxDrainMs ?? 300_000);
    this.busy = options.busy ?? (() => false);
    this.leadership = options.leadership;
    this.logger = options.logger;
    this.controller = new ReconcileController({
      name: 'process-apps',
      reconcile: (appId) => this.reconcile(appId),
      isLeader: () => this.leadership?.isLeader ?? true,
      concurrency: 8,
      logger: options.logger,
    });
    this.leadership?.onChange((isLeader) => {
      if (isLeader) return;
      this.apps.clear();
      this.draining.clear();
      this.crashes.clear();
      this.controller.leadershipChanged(false);
    });
    this.unwatch = workloads.watch((event) => {
      if (event.status.owner.service === 'apps' && this.apps.has(event.status.owner.id)) this.controller.enqueue(event.status.owner.id);
    });
  }

  async ensureApp(spec: AppWorkloadSpec): Promise<AppWorkloadStatus> {
    assertAppName(spec.appId);
    const specHash = this.workloads.specHash(spec.template);
    this.apps.set(spec.appId, { spec: { ...spec, removeFirst: [...(spec.removeFirst ?? [])] }, specHash });
    this.controller.enqueue(spec.appId);
    return (await this.appStatus(spec.appId))!;
  }

  async scaleApp(appId: string, replicas: number, removeFirst: string[] = []): Promise<AppWorkloadStatus | null> {
    const entry = this.apps.get(appId);
    if (!entry) return null;
    entry.spec = { ...entry.spec, replicas, removeFirst: [...removeFirst] };
    this.controller.enqueue(appId);
    return this.appStatus(appId);
  }

  async appStatus(appId: string): Promise<AppWorkloadStatus | null> {
    const entry = this.apps.get(appId);
    const instances = (await this.instancesOf(appId)).map((w) => this.overlay(w));
    if (!entry && instances.length === 0) return null;
    const generation = entry?.spec.generation ?? Math.max(0, ...instances.map((w) => parseReplicaId(w.id)?.generation ?? 0));
    const inRotation = instances.filter((w) => parseReplicaId(w.id)?.generation === generation && !this.isDraining(w));
    const ready = inRotation.filter((w) => w.phase === 'ready' && w.endpoint);
    return {
      appId,
      generation,
      replicas: entry?.spec.replicas ?? inRotation.filter((w) => isActive(w.phase)).length,
      readyReplicas: ready.length,
      specHash: entry?.specHash ?? '',
      endpoints: ready.map((w) => w.endpoint!),
      instances,
    };
  }

  async listApps(): Promise<AppWorkloadStatus[]> {
    const ids = new Set(this.apps.keys());
    for (const w of await this.workloads.list()) if (w.owner.service === 'apps') ids.add(w.owner.id);
    const out: AppWorkloadStatus[] = [];
    for (const id of ids) {
      const status = await this.appStatus(id);
      if (status) out.push(status);
    }
    return out;
  }

  async removeApp(appId: string): Promise<void> {
    this.apps.delete(appId);
    await this.locks.run(appId, async () => {
      for (const w of await this.instancesOf(appId)) {
        this.draining.delete(w.id);
        this.crashes.delete(w.id);
        await this.workloads.remove(w.id);
      }
    });
  }

  async close(): Promise<void> {
    this.unwatch();
    await this.controller.stop();
  }

  private reconcile(appId: string): Promise<ReconcileResult> {
    return this.locks.run(appId, () => this.reconcileLocked(appId));
  }

  private async reconcileLocked(appId: string): Promise<ReconcileResult> {
    const entry = this.apps.get(appId);
    if (!entry) return {};
    const { spec } = entry;
    const instances: WorkloadStatus[] = [];
    for (const w of await this.instancesOf(appId)) {
      // Asked one by one, so that the driver follows (adopts) a replica a previous leader started.
      const status = isActive(w.phase) ? await this.workloads.status(w.id) : w;
      if (status) instances.push(status);
    }
    const now = Date.now();
    const plan = planAppReplicas(
      { appId, generation: spec.generation, replicas: spec.replicas, removeFirst: spec.removeFirst ?? [], drainMs: spec.drainMs ?? this.drainMs, specHash: entry.specHash },
      instances,
      now,
      this.draining,
      this.crashes,
      this.restart,
      { busy: (w) => w.endpoint !== null && this.busy(w.endpoint), maxMs: this.maxDrainMs },
    );
    for (const id of [...this.crashes.keys()]) if (parseReplicaId(id)?.appId === appId && !plan.crashes.has(id)) this.crashes.delete(id);
    for (const [id, record] of plan.crashes) this.crashes.set(id, record);
    for (const action of plan.actions) {
      if (this.apps.get(appId) !== entry && !this.apps.has(appId)) break; // removed meanwhile
      switch (action.kind) {
        case 'start':
        case 'roll':
        case 'restart':
          if (action.kind === 'restart') this.logger?.warn({ appId, replica: action.id, streak: this.crashes.get(action.id)?.streak }, `starting replica ${action.id} again: it stopped`);
          await this.workloads.ensureRunning(this.replicaSpec(spec, action.id));
          break;
        case 'drain':
          this.draining.set(action.id, now);
          break;
        case 'undrain':
          this.draining.delete(action.id);
          break;
        case 'stop':
          this.draining.delete(action.id);
          this.crashes.delete(action.id);
          await this.workloads.stop(action.id);
          break;
        case 'remove':
          this.draining.delete(action.id);
          this.crashes.delete(action.id);
          await this.workloads.remove(action.id);
          break;
      }
    }
    if (plan.actions.length > 0) return { requeue: true };
    return plan.wakeInMs === null ? {} : { requeueAfterMs: plan.wakeInMs + 10 };
  }

  private replicaSpec(spec: AppWorkloadSpec, id: string): WorkloadSpec {
    return { ...spec.template, id, kind: 'app', owner: { service: 'apps', id: spec.appId } };
  }

  private async instancesOf(appId: string): Promise<WorkloadStatus[]> {
    const mine = (await this.workloads.list()).filter((w) => w.owner.service === 'apps' && w.owner.id === appId);
    return mine.sort((a, b) => {
      const pa = parseReplicaId(a.id);
      const pb = parseReplicaId(b.id);
      return (pa?.generation ?? 0) - (pb?.generation ?? 0) || (pa?.ordinal ?? 0) - (pb?.ordinal ?? 0);
    });
  }

  private isDraining(w: WorkloadStatus): boolean {
    return this.draining.has(w.id) && isActive(w.phase);
  }

  /** A replica's status as this layer knows it: its crash streak, and a crash loop while it waits to be started again. */
  private overlay(w: WorkloadStatus): WorkloadStatus {
    const record = this.crashes.get(w.id);
    const appGeneration = parseReplicaId(w.id)?.generation;
    const withGeneration = appGeneration === undefined ? w : { ...w, appGeneration };
    if (!record) return withGeneration;
    return { ...withGeneration, restarts: record.streak, reason: w.phase === 'failed' ? 'CrashLoopBackOff' : w.reason };
  }
}
