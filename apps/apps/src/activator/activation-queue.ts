/** The app's queue in this activator is full: 503 with Retry-After. */
export class QueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`${limit} requests are already waiting for this app to start`);
  }
}

/** No replica became ready in time: 503 with Retry-After. */
export class WakeTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the app did not start within ${Math.round(timeoutMs / 1000)} s`);
  }
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export interface ActivationQueueOptions {
  /** Requests that may wait per app; one more is refused at once. */
  limit: number;
  /** How long one request waits for a replica before it is answered 503. */
  timeoutMs: number;
  /** Asks for a replica: called once per app however many requests wait, until the wait ends. */
  wake(appId: string): void;
}

/**
 * Where requests for an app with no ready replica wait (Knative's activator, in small): bounded
 * per app, one wake signal per app however many wait, each request with its own deadline.
 */
export class ActivationQueue {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly woken = new Set<string>();

  constructor(private readonly options: ActivationQueueOptions) {}

  /** Resolves when `ready(appId)` is called; rejects when full, on timeout, on `fail`, or when `signal` aborts. */
  wait(appId: string, signal?: AbortSignal): Promise<void> {
    // An abort that happened already would never be heard: the request would sit out its deadline.
    if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('the client went away'));
    let set = this.waiters.get(appId);
    if ((set?.size ?? 0) >= this.options.limit) return Promise.reject(new QueueFullError(this.options.limit));
    if (!set) {
      set = new Set();
      this.waiters.set(appId, set);
    }
    const waiters = set;
    return new Promise<void>((resolve, reject) => {
      const leave = () => {
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
        waiters.delete(waiter);
        if (waiters.size === 0 && this.waiters.get(appId) === waiters) {
          this.waiters.delete(appId);
          // Nobody waits any more: the next one to come asks again.
          this.woken.delete(appId);
        }
      };
      const onAbort = () => {
        leave();
        reject(signal?.reason instanceof Error ? signal.reason : new Error('the client went away'));
      };
      const waiter: Waiter = {
        resolve: () => {
          leave();
          resolve();
        },
        reject: (error) => {
          leave();
          reject(error);
        },
        timer: setTimeout(() => waiter.reject(new WakeTimeoutError(this.options.timeoutMs)), this.options.timeoutMs),
      };
      waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (!this.woken.has(appId)) {
        this.woken.add(appId);
        this.options.wake(appId);
      }
    });
  }

  /** A replica is ready: everyone waiting for the app goes on. */
  ready(appId: string): void {
    this.woken.delete(appId);
    for (const waiter of [...(this.waiters.get(appId) ?? [])]) waiter.resolve();
  }

  /** The app cannot be served (deactivated, failed): everyone waiting gets `error`. */
  fail(appId: string, error: Error): void {
    this.woken.delete(appId);
    for (const waiter of [...(this.waiters.get(appId) ?? [])]) waiter.reject(error);
  }

  waiting(appId: string): number {
    return this.waiters.get(appId)?.size ?? 0;
  }

  close(error: Error): void {
    for (const appId of [...this.waiters.keys()]) this.fail(appId, error);
  }
}
