/** The app's queue in this activator is full: 503 with Retry-After. */
export class QueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`${limit} requests are already waiting for this app`);
  }
}

/** No replica had room for the request in time: 503 with Retry-After. */
export class WakeTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no replica of the app had room for the request within ${Math.round(timeoutMs / 1000)} s`);
  }
}

interface Waiter {
  resolve(endpoint: string): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export interface ActivationQueueOptions {
  /** Requests that may wait per app; one more is refused at once. */
  limit: number;
  /** How long one request waits for a replica before it is answered 503. */
  timeoutMs: number;
  /** A request joined the app's queue; `waiting` counts it. */
  queued?(appId: string, waiting: number): void;
  /** The last request waiting for the app left the queue (served, refused, gone). */
  emptied?(appId: string): void;
}

/**
 * Where requests for an app wait while no replica has room for them (none is ready, or every one
 * has its capacity in flight), as in Knative's activator: bounded per app, first come first
 * served, each request with its own deadline. `dispatch` hands the replicas that have room to the
 * oldest waiters, one slot each; nobody is released onto a replica that is full.
 */
export class ActivationQueue {
  /** Per app, in arrival order (a Set iterates in insertion order). */
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(private readonly options: ActivationQueueOptions) {}

  /** Resolves with the replica `dispatch` gives it; rejects when full, on timeout, on `fail`, or when `signal` aborts. */
  wait(appId: string, signal?: AbortSignal): Promise<string> {
    // An abort that happened already would never be heard: the request would sit out its deadline.
    if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('the client went away'));
    let set = this.waiters.get(appId);
    if ((set?.size ?? 0) >= this.options.limit) return Promise.reject(new QueueFullError(this.options.limit));
    if (!set) {
      set = new Set();
      this.waiters.set(appId, set);
    }
    const waiters = set;
    return new Promise<string>((resolve, reject) => {
      const leave = () => {
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
        waiters.delete(waiter);
        if (waiters.size === 0 && this.waiters.get(appId) === waiters) {
          this.waiters.delete(appId);
          this.options.emptied?.(appId);
        }
      };
      const onAbort = () => {
        leave();
        reject(signal?.reason instanceof Error ? signal.reason : new Error('the client went away'));
      };
      const waiter: Waiter = {
        resolve: (endpoint) => {
          leave();
          resolve(endpoint);
        },
        reject: (error) => {
          leave();
          reject(error);
        },
        timer: setTimeout(() => waiter.reject(new WakeTimeoutError(this.options.timeoutMs)), this.options.timeoutMs),
      };
      waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.options.queued?.(appId, waiters.size);
    });
  }

  /**
   * Hands out replicas to the app's waiters, oldest first, for as long as `take` finds one with
   * room (it counts the slot as taken); answers how many went on.
   */
  dispatch(appId: string, take: () => string | null): number {
    const waiters = this.waiters.get(appId);
    let released = 0;
    while (waiters && waiters.size > 0) {
      const endpoint = take();
      if (endpoint === null) break;
      const [oldest] = waiters;
      oldest!.resolve(endpoint);
      released++;
    }
    return released;
  }

  /** The app cannot be served (deactivated, failed): everyone waiting gets `error`. */
  fail(appId: string, error: Error): void {
    for (const waiter of [...(this.waiters.get(appId) ?? [])]) waiter.reject(error);
  }

  waiting(appId: string): number {
    return this.waiters.get(appId)?.size ?? 0;
  }

  close(error: Error): void {
    for (const appId of [...this.waiters.keys()]) this.fail(appId, error);
  }
}
