import { isRetryable, RuntimeError } from './runtime-error.js';

/** What one reconcile of one key asks for next. Nothing (or `{}`): done until something wakes the key again. */
export interface ReconcileResult {
  /** Look again after this long (a deadline the reconciler knows of: an idle timeout, a drain). */
  requeueAfterMs?: number;
  /** It took a step and the next one can follow at once; repeated requeues back off, so a loop cannot spin. */
  requeue?: boolean;
}

export type ReconcileOutcome = 'success' | 'requeue' | 'requeue_after' | 'error' | 'terminal_error';

/** Where the controller reports each reconcile; `reconcileMetrics` in @launchpad/telemetry makes one over prom-client. */
export interface ReconcileMetrics {
  reconciled(outcome: ReconcileOutcome, seconds: number): void;
  /** Keys waiting to be reconciled (not counting the ones being reconciled or waiting for a time). */
  depth(keys: number): void;
}

export interface ReconcileLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ReconcileControllerOptions {
  /** Names the controller in logs and metrics, e.g. `sessions`. */
  name: string;
  /** Makes one key's actual state match its desired state, reading both afresh; idempotent. */
  reconcile: (key: string) => Promise<ReconcileResult | void>;
  /**
   * The keys a periodic resync looks at: those that may need work without an event saying so.
   * Need not be every key (issue 13: a resting row is not worth waking each pass).
   */
  resyncKeys?: () => Promise<Iterable<string>>;
  /** How often to resync; 0 or unset: only when this replica becomes leader. */
  resyncIntervalMs?: number;
  /** At most this many keys are reconciled at once (never one key twice). Default 8. */
  concurrency?: number;
  /** Only the leader acts; a follower drops wakes. Default: always the leader. */
  isLeader?: () => boolean;
  /** Per-key exponential backoff for errors and `requeue`: initialMs × 2^(n-1), at most maxMs. Defaults 5 ms and 5 min. */
  backoff?: { initialMs?: number; maxMs?: number };
  metrics?: ReconcileMetrics;
  logger?: ReconcileLogger;
}

const NO_LOGGER: ReconcileLogger = { warn: () => undefined, error: () => undefined };

/**
 * One loop for every reconciler, in the shape of controller-runtime's controller and client-go's
 * workqueue:
 * - `enqueue(key)` only says *which* key to look at; a key is queued at most once however often
 *   it is woken, and never reconciled twice at once: a wake during its reconcile runs it once more
 *   afterwards, so a change seen mid-run is never lost;
 * - at most `concurrency` keys are reconciled at once, the rest wait in arrival order;
 * - a reconcile returns `requeueAfterMs` (look again then), `requeue` (again soon, backing off) or
 *   throws (again after an exponential backoff, unless the error says retrying cannot help: a
 *   RuntimeError that is not retryable);
 * - a periodic resync enqueues `resyncKeys()`, and a resync never starts while the last one's
 *   keys are still being worked through;
 * - only the leader acts: losing the lead drops everything queued, gaining it resyncs.
 */
export class ReconcileController {
  private readonly name: string;
  private readonly reconcileFn: (key: string) => Promise<ReconcileResult | void>;
  private readonly resyncKeysFn: (() => Promise<Iterable<string>>) | undefined;
  private readonly resyncIntervalMs: number;
  private readonly concurrency: number;
  private readonly isLeader: () => boolean;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly metrics: ReconcileMetrics | undefined;
  private readonly logger: ReconcileLogger;

  /** Keys waiting, in order; `dirty` holds the same keys plus those woken while being reconciled. */
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly runs = new Set<Promise<void>>();
  /** Keys of the resync under way still to be reconciled; null when none is under way. */
  private resyncing: Set<string> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private started = false;
  private closed = false;

  constructor(options: ReconcileControllerOptions) {
    this.name = options.name;
    this.reconcileFn = options.reconcile;
    this.resyncKeysFn = options.resyncKeys;
    this.resyncIntervalMs = options.resyncIntervalMs ?? 0;
    this.concurrency = Math.max(1, options.concurrency ?? 8);
    this.isLeader = options.isLeader ?? (() => true);
    this.initialBackoffMs = options.backoff?.initialMs ?? 5;
    this.maxBackoffMs = options.backoff?.maxMs ?? 5 * 60_000;
    this.metrics = options.metrics;
    this.logger = options.logger ?? NO_LOGGER;
  }

  /** Starts the resync timer, and resyncs at once if this replica leads. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    if (this.resyncIntervalMs > 0) {
      this.timer = setInterval(() => void this.resync(), this.resyncIntervalMs);
      this.timer.unref();
    }
    void this.resync();
  }

  /** Stops taking work and waits for the reconciles under way. */
  async stop(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.drop();
    await Promise.allSettled([...this.runs]);
  }

  /** Tell it when leadership changes: losing it drops the queue, gaining it resyncs. */
  leadershipChanged(isLeader: boolean): void {
    if (!isLeader) this.drop();
    else if (this.started) void this.resync();
  }

  /** Reconcile `key` soon (only on the leader). */
  enqueue(key: string): void {
    if (this.closed || !this.isLeader()) return;
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // queued again when its reconcile ends
    this.queue.push(key);
    this.metrics?.depth(this.queue.length);
    this.pump();
  }

  /** Reconcile `key` after `delayMs`, or sooner if something else wakes it (an earlier time wins). */
  enqueueAfter(key: string, delayMs: number): void {
    if (this.closed || !this.isLeader()) return;
    if (delayMs <= 0) return this.enqueue(key);
    const at = Date.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.enqueue(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /**
   * Enqueues every key `resyncKeys` names, unless the last resync is still being worked through
   * (then this one is skipped: the next tick tries again).
   */
  async resync(): Promise<void> {
    if (this.closed || !this.isLeader() || !this.resyncKeysFn || this.resyncing) return;
    const pending = new Set<string>();
    this.resyncing = pending;
    try {
      for (const key of await this.resyncKeysFn()) pending.add(key);
    } catch (error) {
      this.logger.warn({ err: error, controller: this.name }, `${this.name} resync failed: ${(error as Error).message}; the next one retries`);
      pending.clear();
    }
    if (this.resyncing !== pending) return; // leadership changed meanwhile
    if (pending.size === 0 || !this.isLeader()) {
      this.resyncing = null;
      return;
    }
    for (const key of [...pending]) this.enqueue(key);
  }

  /** Resolves once nothing is queued or being reconciled (delayed keys aside): for tests and shutdown. */
  async idle(): Promise<void> {
    if (this.queue.length === 0 && this.processing.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Keys queued or being reconciled, and keys waiting for a time: for tests and health. */
  get size(): { queued: number; processing: number; delayed: number } {
    return { queued: this.queue.length, processing: this.processing.size, delayed: this.delayed.size };
  }

  private pump(): void {
    while (this.processing.size < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.dirty.delete(key);
      this.processing.add(key);
      const run = this.process(key);
      this.runs.add(run);
      void run.finally(() => this.runs.delete(run));
    }
    this.metrics?.depth(this.queue.length);
  }

  private async process(key: string): Promise<void> {
    const started = performance.now();
    let outcome: ReconcileOutcome = 'success';
    try {
      if (!this.isLeader() || this.closed) return;
      const result = (await this.reconcileFn(key)) ?? {};
      if (result.requeueAfterMs !== undefined && result.requeueAfterMs >= 0 && !result.requeue) {
        this.failures.delete(key);
        outcome = 'requeue_after';
        this.enqueueAfter(key, result.requeueAfterMs);
      } else if (result.requeue) {
        outcome = 'requeue';
        // The first step after a clean run follows at once (no sleep on a launch path); a key that keeps asking backs off.
        const n = (this.failures.get(key) ?? 0) + 1;
        this.enqueueAfter(key, n === 1 ? (this.failures.set(key, 1), 0) : this.nextBackoff(key));
      } else {
        this.failures.delete(key);
      }
    } catch (error) {
      if (!isRetryable(error)) {
        outcome = 'terminal_error';
        this.failures.delete(key);
        this.logger.error({ err: error, controller: this.name, key }, `${this.name} ${key}: ${(error as Error).message}; not retried until something changes`);
      } else {
        outcome = 'error';
        const hint = error instanceof RuntimeError ? (error.retryAfterMs ?? 0) : 0;
        const delay = Math.max(this.nextBackoff(key), hint);
        this.logger.error({ err: error, controller: this.name, key, retryInMs: delay }, `${this.name} ${key} failed: ${(error as Error).message}; retrying in ${delay} ms`);
        this.enqueueAfter(key, delay);
      }
    } finally {
      this.processing.delete(key);
      this.metrics?.reconciled(outcome, (performance.now() - started) / 1000);
      if (this.dirty.has(key) && !this.closed) this.queue.push(key);
      if (this.resyncing?.delete(key) && this.resyncing.size === 0) this.resyncing = null;
      this.pump();
      if (this.queue.length === 0 && this.processing.size === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }
  }

  private nextBackoff(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    return Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.min(n - 1, 40));
  }

  private drop(): void {
    this.queue.length = 0;
    this.dirty.clear();
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.failures.clear();
    this.resyncing = null;
    this.metrics?.depth(0);
  }
}
