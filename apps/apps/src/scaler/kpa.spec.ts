import { decideScale, replicasFor, type Sample, type ScaleInput, type ScalePolicy, windowAverage } from './kpa.js';

const policy: ScalePolicy = {
  targetConcurrency: 10,
  minReplicas: 0,
  maxReplicas: 5,
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  panicThreshold: 2,
  idleGraceMs: 30_000,
};
const now = 1_000_000;
/** One sample a second up to now, oldest first: the last values given are the most recent. */
const series = (...values: number[]): Sample[] => values.map((concurrency, i) => ({ at: now - (values.length - 1 - i) * 1000, concurrency }));
const input = (over: Partial<ScaleInput>): ScaleInput => ({
  now,
  samples: [],
  current: 0,
  ready: 0,
  concurrencyNow: 0,
  lastRequestAt: null,
  panicUntil: null,
  observingSince: now - 10 * 60_000,
  ...over,
});

describe('scaler arithmetic', () => {
  it('averages the samples inside a window only', () => {
    const samples = series(100, 100, 0, 4, 8);
    expect(windowAverage(samples, now, 2_500)).toBe(4);
    expect(windowAverage(samples, now, 60_000)).toBeCloseTo(42.4);
    expect(windowAverage([], now, 60_000)).toBe(0);
  });

  it('asks for ceil(concurrency / target) replicas', () => {
    expect(replicasFor(0, 10)).toBe(0);
    expect(replicasFor(0.1, 10)).toBe(1);
    expect(replicasFor(10, 10)).toBe(1);
    expect(replicasFor(10.01, 10)).toBe(2);
    expect(replicasFor(200, 10)).toBe(20);
    expect(replicasFor(3 * 0.1 * 100, 10)).toBe(3);
  });

  it('follows the stable window in steady traffic', () => {
    const d = decideScale(input({ samples: series(...Array(60).fill(25)), current: 3, ready: 3, concurrencyNow: 25, lastRequestAt: now }), policy);
    expect(d).toMatchObject({ desired: 3, panicUntil: null });
    expect(d.reason).toMatch(/average concurrency 25 over the last 60 s, target 10/);
  });

  it('panics on a burst above twice the capacity: scales up at once, capped at max', () => {
    const d = decideScale(input({ samples: series(...Array(54).fill(0), ...Array(6).fill(200)), current: 1, ready: 1, concurrencyNow: 200, lastRequestAt: now }), policy);
    expect(d.desired).toBe(5);
    expect(d.panicUntil).toBe(now + policy.stableWindowMs);
    expect(d.reason).toMatch(/^panic: 200 concurrent requests .*; capped at maxReplicas 5$/);
    // Its first second only, averaged over the 6 s panic window: 200 / 6 → ceil(33.3 / 10).
    expect(decideScale(input({ samples: series(...Array(55).fill(0), 200), current: 1, ready: 1, concurrencyNow: 200 }), policy).desired).toBe(4);
    // The same burst with a higher cap: ceil(200 / 10).
    expect(decideScale(input({ samples: series(200), current: 1, ready: 1, concurrencyNow: 200 }), { ...policy, maxReplicas: 50 }).desired).toBe(20);
  });

  it('does not panic below the threshold', () => {
    const d = decideScale(input({ samples: series(...Array(54).fill(0), 15, 15), current: 1, ready: 1, concurrencyNow: 15, lastRequestAt: now }), policy);
    expect(d.panicUntil).toBeNull();
    expect(d.desired).toBe(1);
  });

  it('does not scale down while panicking, and leaves panic a stable window after the burst', () => {
    const panicking = input({ samples: series(...Array(60).fill(1)), current: 5, ready: 5, concurrencyNow: 1, lastRequestAt: now, panicUntil: now + 1 });
    expect(decideScale(panicking, policy)).toMatchObject({ desired: 5, panicUntil: now + 1 });
    const over = decideScale({ ...panicking, panicUntil: now }, policy);
    expect(over).toMatchObject({ desired: 1, panicUntil: null });
  });

  it('wakes an app at zero for a request waiting, before any average rises', () => {
    const d = decideScale(input({ samples: series(0, 0, 0), concurrencyNow: 1 }), policy);
    expect(d.desired).toBe(1);
    expect(d.reason).toBe('1 request(s) waiting');
  });

  it('keeps one replica through the idle grace period, then scales to zero', () => {
    const quiet = input({ samples: series(...Array(60).fill(0)), current: 1, ready: 1, lastRequestAt: now - 29_000 });
    expect(decideScale(quiet, policy)).toMatchObject({ desired: 1, reason: expect.stringMatching(/^idle for 29 s; scaling to zero after 30 s/) });
    expect(decideScale({ ...quiet, lastRequestAt: now - 31_000 }, policy)).toMatchObject({ desired: 0, reason: 'idle for 31 s: scaling to zero' });
  });

  it('stays at minReplicas however idle', () => {
    const quiet = input({ samples: series(...Array(60).fill(0)), current: 2, ready: 2, lastRequestAt: now - 3600_000 });
    expect(decideScale(quiet, { ...policy, minReplicas: 2 })).toMatchObject({ desired: 2, reason: expect.stringMatching(/at least minReplicas 2$/) });
    expect(decideScale(input({ current: 0 }), { ...policy, minReplicas: 1 }).desired).toBe(1);
  });

  it('a scaler that just took over does not scale down before it has watched a stable window', () => {
    const fresh = input({ samples: series(0, 0), current: 4, ready: 4, lastRequestAt: now - 3600_000, observingSince: now - 2000 });
    expect(decideScale(fresh, policy)).toMatchObject({ desired: 4, reason: expect.stringMatching(/^not scaling down before watching/) });
    // Scaling up needs no such patience.
    expect(decideScale({ ...fresh, samples: series(100), concurrencyNow: 100, current: 1, ready: 1 }, policy).desired).toBe(5);
  });
});
