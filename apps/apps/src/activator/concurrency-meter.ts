/** What one activator saw of one app since its last report. */
export interface AppConcurrency {
  appId: string;
  /** Time-weighted mean of (in flight + queued) over the interval: 1 000 requests of 1 ms each in 1 s is 1. */
  average: number;
  current: number;
  queued: number;
  requests: number;
  lastRequestAt: number | null;
}

interface Gauge {
  inFlight: number;
  queued: number;
  area: number;
  since: number;
  requests: number;
  lastRequestAt: number | null;
}

/**
 * Counts, per app, requests in flight and waiting in this activator, integrated over time so that
 * the scaler sees the real load between two reports, not whatever happened at the instant of one.
 */
export class ConcurrencyMeter {
  private readonly gauges = new Map<string, Gauge>();
  private intervalStart: number;

  constructor(private readonly clock: () => number = Date.now) {
    this.intervalStart = clock();
  }

  /** A request arrived for the app (it is counted as waiting until `started`). */
  arrived(appId: string): void {
    const g = this.change(appId, 0, 1);
    g.requests++;
    g.lastRequestAt = this.clock();
  }

  /** The waiting request goes to a replica. */
  started(appId: string): void {
    this.change(appId, 1, -1);
  }

  /** A request that never started (refused, timed out, or its client went away). */
  abandoned(appId: string): void {
    this.change(appId, 0, -1);
  }

  finished(appId: string): void {
    this.change(appId, -1, 0);
  }

  current(appId: string): number {
    const g = this.gauges.get(appId);
    return g ? g.inFlight + g.queued : 0;
  }

  /** Everything since the last report; apps with nothing going on and nothing since are forgotten. */
  report(): AppConcurrency[] {
    const now = this.clock();
    const interval = Math.max(1, now - this.intervalStart);
    const out: AppConcurrency[] = [];
    for (const [appId, g] of this.gauges) {
      const area = g.area + (g.inFlight + g.queued) * (now - g.since);
      out.push({ appId, average: area / interval, current: g.inFlight + g.queued, queued: g.queued, requests: g.requests, lastRequestAt: g.lastRequestAt });
      if (g.inFlight + g.queued === 0) this.gauges.delete(appId);
      else Object.assign(g, { area: 0, since: now, requests: 0 });
    }
    this.intervalStart = now;
    return out;
  }

  private change(appId: string, inFlight: number, queued: number): Gauge {
    const now = this.clock();
    let g = this.gauges.get(appId);
    if (!g) {
      g = { inFlight: 0, queued: 0, area: 0, since: now, requests: 0, lastRequestAt: null };
      this.gauges.set(appId, g);
    }
    g.area += (g.inFlight + g.queued) * (now - g.since);
    g.since = now;
    g.inFlight += inFlight;
    g.queued += queued;
    return g;
  }
}
