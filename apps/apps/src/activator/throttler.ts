import { histogram } from '@launchpad/telemetry';
import { ActivationQueue } from './activation-queue.js';
import { PageError } from './answers.js';
import { LeastOutstanding } from './least-outstanding.js';
import { APP_FAILED, APP_OFF, NO_APP } from './pages.js';
import type { RouteChange, RouteTable } from './route-table.js';
import { WakeSignal } from './wake-signal.js';

const waits = histogram('launchpad_activator_wait_seconds', 'How long requests waited in the activator for a replica with room (none ready, or all full)', [], [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]);

export interface ThrottlerOptions {
  queueLimit: number;
  wakeTimeoutMs: number;
  /** Asks the scaler for `replicas` of an app at zero, `waiting` requests being held for it. */
  wake(appId: string, waiting: number, replicas: number): void;
}

export interface Slot {
  endpoint: string;
  /** How long the request waited for it; null when a replica had room at once. */
  waitedMs: number | null;
}

/**
 * Which replica takes a request, and when (Knative's throttler, in small): each replica takes at
 * most its capacity in flight from this activator (the route's `capacity`); a request finds the
 * replica with room and the fewest outstanding, or waits in the activator's queue, first come
 * first served, for the next slot that frees or the next replica that becomes ready. An app at
 * zero is woken for as many replicas as its waiting requests need.
 */
export class Throttler {
  private readonly balancer = new LeastOutstanding();
  private readonly queue: ActivationQueue;
  private readonly wakes: WakeSignal;

  constructor(
    private readonly table: RouteTable,
    options: ThrottlerOptions,
  ) {
    this.wakes = new WakeSignal(options.wake);
    this.queue = new ActivationQueue({
      limit: options.queueLimit,
      timeoutMs: options.wakeTimeoutMs,
      // Only an app with no ready replica is woken from here; one whose replicas are all full is
      // scaled by the scaler from the queued requests in the concurrency reports.
      queued: (appId, waiting) => {
        if (this.table.endpoints(appId).length === 0) this.wakes.waiting(appId, waiting, this.capacityOf(appId));
      },
      emptied: (appId) => this.wakes.settled(appId),
    });
  }

  /** A slot on a replica with room: at once, or once one frees or becomes ready (rejects as ActivationQueue.wait). */
  async acquire(appId: string, signal: AbortSignal): Promise<Slot> {
    const endpoint = this.tryAcquire(appId);
    return endpoint ? { endpoint, waitedMs: null } : this.waitFor(appId, signal);
  }

  /**
   * A replica with room at once, or null: `acquire` without its promise, for the common case of
   * a warm app (every request of a warm app would otherwise pay for an AbortSignal and a promise).
   */
  tryAcquire(appId: string): string | null {
    // Nobody overtakes the requests already waiting.
    return this.queue.waiting(appId) === 0 ? this.take(appId) : null;
  }

  /** A slot once one frees or a replica becomes ready (rejects as ActivationQueue.wait). */
  private async waitFor(appId: string, signal: AbortSignal): Promise<Slot> {
    const started = performance.now();
    const endpoint = await this.queue.wait(appId, signal);
    const waited = performance.now() - started;
    waits.observe(waited / 1000);
    return { endpoint, waitedMs: Math.round(waited) };
  }

  /** The request is answered (or its client left): its slot goes to the oldest request waiting. */
  release(appId: string, endpoint: string): void {
    this.balancer.done(endpoint);
    this.dispatch(appId);
  }

  /** Requests this activator has on each of `endpoints`. */
  outstandingOn(endpoints: readonly string[]): number {
    return endpoints.reduce((sum, e) => sum + this.balancer.count(e), 0);
  }

  /** Every endpoint with requests outstanding from this activator, and how many. */
  outstanding(): Record<string, number> {
    return this.balancer.all();
  }

  waiting(appId: string): number {
    return this.queue.waiting(appId);
  }

  /** Waiting requests of an app that is gone, off or failed get its page; a replica ready takes its share of them. */
  routeChanged(change: RouteChange): void {
    if ('deleted' in change) return this.queue.fail(change.deleted, new PageError(NO_APP));
    const { route } = change;
    if (route.status === 'inactive') this.queue.fail(route.appId, new PageError(APP_OFF));
    else if (route.status === 'failed') this.queue.fail(route.appId, new PageError(APP_FAILED));
    else if (this.table.endpoints(route.appId).length > 0) {
      this.wakes.settled(route.appId);
      this.dispatch(route.appId);
    }
  }

  close(error: Error): void {
    this.queue.close(error);
  }

  private dispatch(appId: string): void {
    if (this.queue.waiting(appId) > 0) this.queue.dispatch(appId, () => this.take(appId));
  }

  private take(appId: string): string | null {
    return this.balancer.pick(this.table.endpoints(appId), this.capacityOf(appId));
  }

  private capacityOf(appId: string): number {
    return this.table.byAppId(appId)?.capacity ?? Infinity;
  }
}
