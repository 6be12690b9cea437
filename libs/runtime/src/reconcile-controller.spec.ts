import { type ReconcileOutcome, ReconcileController, type ReconcileResult } from './reconcile-controller.js';
import { RuntimeError, RuntimeErrorCode } from './runtime-error.js';

/** A promise and the function that settles it, for reconciles a test holds open. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

const tick = () => new Promise((r) => setImmediate(r));

function recordingMetrics() {
  const outcomes: ReconcileOutcome[] = [];
  return { outcomes, metrics: { reconciled: (o: ReconcileOutcome) => outcomes.push(o), depth: () => undefined } };
}

describe('ReconcileController', () => {
  const controllers: ReconcileController[] = [];
  const make = (options: Partial<ConstructorParameters<typeof ReconcileController>[0]> & { reconcile: (key: string) => Promise<ReconcileResult | void> }) => {
    const controller = new ReconcileController({ name: 'test', ...options });
    controllers.push(controller);
    return controller;
  };
  afterEach(async () => {
    await Promise.all(controllers.splice(0).map((c) => c.stop()));
  });

  it('never reconciles one key twice at once, and once more for the wakes that came during it', async () => {
    const held = gate();
    let inFlight = 0;
    let most = 0;
    const runs: string[] = [];
    const controller = make({
      reconcile: async (key) => {
        runs.push(key);
        most = Math.max(most, ++inFlight);
        if (runs.length === 1) await held.promise;
        inFlight--;
      },
    });
    controller.enqueue('a');
    controller.enqueue('a');
    controller.enqueue('a');
    await tick();
    expect(runs).toEqual(['a']);
    held.open();
    await controller.idle();
    expect(runs).toEqual(['a', 'a']);
    expect(most).toBe(1);
  });

  it('reconciles at most `concurrency` keys at once, the others in arrival order', async () => {
    const held = gate();
    let inFlight = 0;
    let most = 0;
    const order: string[] = [];
    const controller = make({
      concurrency: 3,
      reconcile: async (key) => {
        order.push(key);
        most = Math.max(most, ++inFlight);
        await held.promise;
        inFlight--;
      },
    });
    for (let i = 0; i < 10; i++) controller.enqueue(`k${i}`);
    await tick();
    expect(order).toEqual(['k0', 'k1', 'k2']);
    expect(controller.size).toEqual({ queued: 7, processing: 3, delayed: 0 });
    held.open();
    await controller.idle();
    expect(order).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
    expect(most).toBe(3);
  });

  it('looks again after requeueAfter, and an earlier wake comes first', async () => {
    const seen: number[] = [];
    const controller = make({
      reconcile: async () => {
        seen.push(Date.now());
        return seen.length === 1 ? { requeueAfterMs: 60_000 } : {};
      },
    });
    controller.enqueue('a');
    await controller.idle();
    expect(controller.size.delayed).toBe(1);
    controller.enqueueAfter('a', 30);
    await new Promise((r) => setTimeout(r, 80));
    await controller.idle();
    expect(seen).toHaveLength(2);
    expect(controller.size.delayed).toBe(0);
  });

  it('retries a failing key with a backoff that doubles, and forgets it once it succeeds', async () => {
    const at: number[] = [];
    const { outcomes, metrics } = recordingMetrics();
    const controller = make({
      backoff: { initialMs: 20, maxMs: 1_000 },
      metrics,
      reconcile: async () => {
        at.push(Date.now());
        if (at.length <= 3) throw new Error('database is down');
      },
    });
    controller.enqueue('a');
    const deadline = Date.now() + 10_000;
    while (at.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await controller.idle();
    expect(at).toHaveLength(4);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // 20, 40, 80 ms at least (timers never fire early); not asserting an upper bound on a noisy machine.
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(gaps[2]).toBeGreaterThanOrEqual(79);
    expect(outcomes).toEqual(['error', 'error', 'error', 'success']);
    expect(controller.size.delayed).toBe(0);
  });

  it('does not retry an error that says retrying cannot help', async () => {
    let calls = 0;
    const { outcomes, metrics } = recordingMetrics();
    const controller = make({
      backoff: { initialMs: 1 },
      metrics,
      reconcile: async () => {
        calls++;
        throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, 'no such GPU');
      },
    });
    controller.enqueue('a');
    await controller.idle();
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toBe(1);
    expect(outcomes).toEqual(['terminal_error']);
    expect(controller.size.delayed).toBe(0);
  });

  it('lets a key that took a step go on at once, backing off if it keeps asking', async () => {
    let calls = 0;
    const controller = make({ reconcile: async () => (++calls < 4 ? { requeue: true } : {}) });
    controller.enqueue('a');
    const deadline = Date.now() + 5_000;
    while (calls < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(calls).toBe(4);
  });

  it('acts only as leader: a follower drops wakes, losing the lead drops the queue, gaining it resyncs', async () => {
    let leader = false;
    const runs: string[] = [];
    const controller = make({ isLeader: () => leader, resyncKeys: async () => ['r1', 'r2'], reconcile: async (key) => void runs.push(key) });
    controller.start();
    controller.enqueue('a');
    await controller.idle();
    expect(runs).toEqual([]);
    leader = true;
    controller.leadershipChanged(true);
    await tick();
    await controller.idle();
    expect(runs.sort()).toEqual(['r1', 'r2']);
    controller.enqueueAfter('later', 50);
    leader = false;
    controller.leadershipChanged(false);
    expect(controller.size).toEqual({ queued: 0, processing: 0, delayed: 0 });
  });

  it('never starts a resync while the keys of the last one are still being worked through', async () => {
    const held = gate();
    let listings = 0;
    const controller = make({
      concurrency: 1,
      resyncKeys: async () => {
        listings++;
        return ['a', 'b', 'c'];
      },
      reconcile: async () => held.promise,
    });
    await controller.resync();
    await controller.resync();
    await controller.resync();
    expect(listings).toBe(1);
    held.open();
    await controller.idle();
    await controller.resync();
    expect(listings).toBe(2);
  });

  it('survives a resync whose listing fails, and lists again next time', async () => {
    let listings = 0;
    const controller = make({
      resyncKeys: async () => {
        if (++listings === 1) throw new Error('connection refused');
        return ['a'];
      },
      reconcile: async () => undefined,
    });
    await controller.resync();
    await controller.resync();
    expect(listings).toBe(2);
  });
});
