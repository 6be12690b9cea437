import { randomBytes } from 'node:crypto';
import type {
  AppWorkloadSpec,
  AppWorkloadStatus,
  LogLine,
  LogOptions,
  Runtime,
  WorkloadEvent,
  WorkloadPhase,
  WorkloadSpec,
  WorkloadStatus,
} from './runtime.js';
import { isActive } from './runtime.js';
import { RuntimeError, RuntimeErrorCode } from './runtime-error.js';
import { workloadSpecHash } from './spec-hash.js';
import { assertAppName, assertWorkloadName } from './workload-name.js';

/** One call a FakeRuntime was given, in order, for a test to assert on. */
export type FakeRuntimeCall =
  | { method: 'ensureRunning'; id: string; specHash: string }
  | { method: 'stop' | 'remove'; id: string }
  | { method: 'ensureApp'; appId: string; replicas: number; generation: number }
  | { method: 'scaleApp'; appId: string; replicas: number; removeFirst: string[] }
  | { method: 'removeApp'; appId: string };

interface FakeApp {
  spec: AppWorkloadSpec;
  specHash: string;
}

/**
 * An in-memory Runtime for unit tests of the reconcilers: it runs nothing and moves no workload
 * on by itself. `ensureRunning` makes a workload `preparing`; the test moves it on with `set()`
 * (as a driver would report a program that got ready, crashed or was evicted), and every change
 * is announced to `watch()` listeners as a driver announces it. `failNext` makes the next call of
 * a method throw (a backend that is down). It keeps the contract's rules that a reconciler may
 * rely on: ids must be DNS-1123 labels, `ensureRunning` of an active workload with the same spec
 * starts nothing, a changed spec rolls it, `stop` keeps it, `remove` forgets it.
 */
export class FakeRuntime implements Runtime {
  readonly name = 'process' as const;
  readonly calls: FakeRuntimeCall[] = [];
  readonly workloads = new Map<string, WorkloadStatus>();
  readonly specs = new Map<string, WorkloadSpec>();
  readonly apps = new Map<string, FakeApp>();
  readonly output = new Map<string, string[]>();
  private readonly listeners = new Set<(event: WorkloadEvent) => void>();
  private readonly failures = new Map<string, unknown>();
  private nextPort = 40_000;

  /** A key of its own, as a real runtime has. */
  private readonly specHashKey = randomBytes(32);

  constructor(readonly restartsCrashedPrograms = false) {}

  specHash(spec: WorkloadSpec | AppWorkloadSpec['template']): string {
    return workloadSpecHash(spec, this.specHashKey);
  }

  /** The next call of `method` throws `error` (default: an UNAVAILABLE RuntimeError). */
  failNext(method: keyof Runtime, error: unknown = new RuntimeError(RuntimeErrorCode.UNAVAILABLE, `${method}: the fake backend is down`)): void {
    this.failures.set(method, error);
  }

  /** Moves a workload on, as a driver reports it; announces the change. */
  set(id: string, phase: WorkloadPhase, over: Partial<WorkloadStatus> = {}): WorkloadStatus {
    const current = this.workloads.get(id);
    if (!current) throw new Error(`FakeRuntime: no workload ${id}`);
    const running = phase === 'starting' || phase === 'ready';
    const next: WorkloadStatus = {
      ...current,
      phase,
      reason: null,
      message: null,
      endpoint: running ? (current.endpoint ?? `http://127.0.0.1:${this.nextPort++}`) : null,
      readyAt: phase === 'ready' ? (current.readyAt ?? new Date().toISOString()) : current.readyAt,
      startedAt: running ? (current.startedAt ?? new Date().toISOString()) : current.startedAt,
      ...over,
    };
    this.workloads.set(id, next);
    this.emit(next);
    return next;
  }

  /** Adds lines to a workload's output. */
  write(id: string, ...lines: string[]): void {
    this.output.set(id, [...(this.output.get(id) ?? []), ...lines]);
  }

  async ensureRunning(spec: WorkloadSpec): Promise<WorkloadStatus> {
    this.maybeFail('ensureRunning');
    assertWorkloadName(spec.id);
    const specHash = this.specHash(spec);
    this.calls.push({ method: 'ensureRunning', id: spec.id, specHash });
    const current = this.workloads.get(spec.id);
    if (current && isActive(current.phase) && (current.specHash === null || current.specHash === specHash)) return { ...current };
    this.specs.set(spec.id, spec);
    const status: WorkloadStatus = {
      id: spec.id,
      kind: spec.kind,
      owner: { ...spec.owner },
      phase: 'preparing',
      reason: null,
      endpoint: null,
      message: null,
      exitCode: null,
      restarts: 0,
      specHash,
      startedAt: null,
      readyAt: null,
    };
    this.workloads.set(spec.id, status);
    this.emit(status);
    return { ...status };
  }

  async stop(id: string): Promise<void> {
    this.maybeFail('stop');
    this.calls.push({ method: 'stop', id });
    const current = this.workloads.get(id);
    if (current && current.phase !== 'stopped') this.set(id, 'stopped', { endpoint: null });
  }

  async remove(id: string): Promise<void> {
    this.maybeFail('remove');
    this.calls.push({ method: 'remove', id });
    if (this.workloads.delete(id)) this.output.delete(id);
    this.specs.delete(id);
  }

  async status(id: string): Promise<WorkloadStatus | null> {
    this.maybeFail('status');
    const current = this.workloads.get(id);
    return current ? { ...current } : null;
  }

  async list(): Promise<WorkloadStatus[]> {
    this.maybeFail('list');
    return [...this.workloads.values()].map((w) => ({ ...w }));
  }

  /** Replicas are named `<appId>-g<generation>-r<ordinal>` and made `preparing`; move them on with `set()`. */
  async ensureApp(spec: AppWorkloadSpec): Promise<AppWorkloadStatus> {
    this.maybeFail('ensureApp');
    assertAppName(spec.appId);
    this.calls.push({ method: 'ensureApp', appId: spec.appId, replicas: spec.replicas, generation: spec.generation });
    this.apps.set(spec.appId, { spec, specHash: this.specHash(spec.template) });
    await this.converge(spec.appId);
    return (await this.appStatus(spec.appId))!;
  }

  async scaleApp(appId: string, replicas: number, removeFirst: string[] = []): Promise<AppWorkloadStatus | null> {
    this.maybeFail('scaleApp');
    this.calls.push({ method: 'scaleApp', appId, replicas, removeFirst });
    const app = this.apps.get(appId);
    if (!app) return null;
    app.spec = { ...app.spec, replicas, removeFirst };
    await this.converge(appId);
    return this.appStatus(appId);
  }

  async appStatus(appId: string): Promise<AppWorkloadStatus | null> {
    this.maybeFail('appStatus');
    const app = this.apps.get(appId);
    if (!app) return null;
    const instances = this.replicasOf(appId);
    const ready = instances.filter((w) => w.phase === 'ready' && w.endpoint);
    return {
      appId,
      generation: app.spec.generation,
      replicas: app.spec.replicas,
      readyReplicas: ready.length,
      specHash: app.specHash,
      endpoints: ready.map((w) => w.endpoint!),
      instances,
    };
  }

  async listApps(): Promise<AppWorkloadStatus[]> {
    const out: AppWorkloadStatus[] = [];
    for (const appId of this.apps.keys()) out.push((await this.appStatus(appId))!);
    return out;
  }

  async removeApp(appId: string): Promise<void> {
    this.maybeFail('removeApp');
    this.calls.push({ method: 'removeApp', appId });
    this.apps.delete(appId);
    for (const w of this.replicasOf(appId)) this.workloads.delete(w.id);
  }

  async logs(id: string, lines: number): Promise<string[]> {
    return lines <= 0 ? [] : (this.output.get(id) ?? []).slice(-lines);
  }

  async *streamLogs(id: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    const lines = this.output.get(id) ?? [];
    for (const text of options.tailLines === undefined ? lines : lines.slice(-options.tailLines)) yield { text, time: null };
  }

  async logsAfter(id: string, cursor: string | null, lines: number): Promise<{ lines: string[]; cursor: string }> {
    const all = this.output.get(id) ?? [];
    const from = cursor === null ? Math.max(0, all.length - lines) : Number(cursor);
    return { lines: all.slice(from), cursor: String(all.length) };
  }

  watch(listener: (event: WorkloadEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private replicasOf(appId: string): WorkloadStatus[] {
    return [...this.workloads.values()].filter((w) => w.owner.service === 'apps' && w.owner.id === appId).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Starts missing replicas of the current generation, removes extra ones (removeFirst first) and other generations'. */
  private async converge(appId: string): Promise<void> {
    const app = this.apps.get(appId)!;
    const { spec } = app;
    const prefix = `${appId}-g${spec.generation}-r`;
    const current = this.replicasOf(appId);
    for (const w of current) if (!w.id.startsWith(prefix)) this.workloads.delete(w.id);
    let mine = this.replicasOf(appId);
    const removeFirst = spec.removeFirst ?? [];
    const byPreference = [...mine].sort((a, b) => rank(removeFirst, a.id) - rank(removeFirst, b.id) || (a.id < b.id ? 1 : -1));
    while (mine.length > spec.replicas) {
      const victim = byPreference.shift()!;
      this.workloads.delete(victim.id);
      mine = mine.filter((w) => w.id !== victim.id);
    }
    for (let ordinal = 1; mine.length < spec.replicas; ordinal++) {
      const id = `${prefix}${ordinal}`;
      if (this.workloads.has(id)) continue;
      await this.ensureRunning({ ...spec.template, id, kind: 'app', owner: { service: 'apps', id: appId } });
      this.calls.pop(); // the app's own call is what the test asserts on
      mine = this.replicasOf(appId).filter((w) => w.id.startsWith(prefix));
    }
  }

  private maybeFail(method: keyof Runtime): void {
    const error = this.failures.get(method);
    if (error === undefined) return;
    this.failures.delete(method);
    throw error;
  }

  private emit(status: WorkloadStatus): void {
    for (const listener of this.listeners) listener({ id: status.id, status: { ...status } });
  }
}

const rank = (preferred: readonly string[], id: string) => {
  const i = preferred.indexOf(id);
  return i < 0 ? preferred.length : i;
};
