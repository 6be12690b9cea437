import type { AppRoute } from '@launchpad/contracts';
import { QueueFullError } from './activation-queue.js';
import { PageError } from './answers.js';
import { RouteTable } from './route-table.js';
import { type Slot, Throttler } from './throttler.js';

const APP = '11111111-2222-4333-8444-555555555555';
const route = (over: Partial<AppRoute> = {}): AppRoute => ({
  appId: APP,
  version: 1,
  slug: 'lab-study-board',
  projectId: '42',
  visibility: 'public',
  status: 'active',
  access: 'public',
  endpoints: [],
  stripPrefix: false,
  capacity: 2,
  deleted: false,
  ...over,
});

describe('Throttler', () => {
  let table: RouteTable;
  let throttler: Throttler;
  let wakes: { waiting: number; replicas: number }[];
  let version: number;
  const publish = (over: Partial<AppRoute>) => table.apply(route({ version: ++version, ...over }));

  beforeEach(() => {
    version = 1;
    wakes = [];
    let onChange: (c: Parameters<Throttler['routeChanged']>[0]) => void = () => undefined;
    table = new RouteTable((c) => onChange(c));
    throttler = new Throttler(table, { queueLimit: 1000, wakeTimeoutMs: 60_000, wake: (_id, waiting, replicas) => wakes.push({ waiting, replicas }) });
    onChange = (c) => throttler.routeChanged(c);
    table.apply(route());
  });
  afterEach(() => throttler.close(new Error('test over')));

  /** Starts `n` requests; each resolves with its slot. */
  const burst = (n: number) => Array.from({ length: n }, () => throttler.acquire(APP, new AbortController().signal));
  const settled = async (slots: Promise<Slot>[]) => {
    const done: Slot[] = [];
    for (const s of slots) void s.then((slot) => done.push(slot), () => undefined);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    return done;
  };

  it('asks for ceil(waiting / capacity) replicas of an app at zero, then gives each ready replica only its capacity', async () => {
    const slots = burst(7);
    expect(wakes.at(-1)).toEqual({ waiting: 7, replicas: 4 });
    expect(wakes).toHaveLength(4);
    publish({ endpoints: ['r1'] });
    let done = await settled(slots);
    expect(done.map((s) => s.endpoint)).toEqual(['r1', 'r1']);
    expect(done.every((s) => s.waitedMs !== null)).toBe(true);
    expect(throttler.waiting(APP)).toBe(5);
    publish({ endpoints: ['r1', 'r2', 'r3'] });
    done = await settled(slots);
    expect(done.map((s) => s.endpoint).sort()).toEqual(['r1', 'r1', 'r2', 'r2', 'r3', 'r3']);
    expect(throttler.waiting(APP)).toBe(1);
    expect(throttler.outstanding()).toEqual({ r1: 2, r2: 2, r3: 2 });
  });

  it('gives a slot that frees to the oldest request waiting, and lets nobody overtake it', async () => {
    publish({ endpoints: ['r1'] });
    const [a, b] = burst(2);
    expect((await a!).waitedMs).toBeNull();
    expect((await b!).waitedMs).toBeNull();
    const [c] = burst(1);
    const [d] = burst(1);
    expect(throttler.waiting(APP)).toBe(2);
    // A replica that merely is full is not woken for: the scaler sees the queue in the reports.
    expect(wakes).toEqual([]);
    throttler.release(APP, 'r1');
    expect((await settled([c!, d!])).map((s) => s.endpoint)).toEqual(['r1']);
    expect(throttler.waiting(APP)).toBe(1);
    throttler.release(APP, 'r1');
    await expect(d!).resolves.toMatchObject({ endpoint: 'r1' });
    expect(throttler.outstanding()).toEqual({ r1: 2 });
  });

  it('takes as many at once as a replica without a capacity limit can be given (routes of older publishers)', async () => {
    publish({ endpoints: ['r1'], capacity: null });
    const slots = await Promise.all(burst(50));
    expect(slots.every((s) => s.endpoint === 'r1' && s.waitedMs === null)).toBe(true);
  });

  it('answers the waiting requests of an app switched off with its page', async () => {
    const [a] = burst(1);
    publish({ status: 'inactive' });
    await expect(a!).rejects.toBeInstanceOf(PageError);
    expect(throttler.waiting(APP)).toBe(0);
  });

  it('wakes again for the next cold start once the last one has been served', async () => {
    const [a] = burst(1);
    publish({ endpoints: ['r1'] });
    await a;
    throttler.release(APP, 'r1');
    publish({ endpoints: [] });
    const [b] = burst(1);
    expect(wakes).toEqual([
      { waiting: 1, replicas: 1 },
      { waiting: 1, replicas: 1 },
    ]);
    publish({ endpoints: ['r2'] });
    await expect(b!).resolves.toMatchObject({ endpoint: 'r2' });
  });

  it('refuses beyond the queue limit', async () => {
    throttler.close(new Error('replaced'));
    throttler = new Throttler(table, { queueLimit: 1, wakeTimeoutMs: 60_000, wake: () => undefined });
    const [a, b] = burst(2);
    await expect(b!).rejects.toBeInstanceOf(QueueFullError);
    throttler.close(new Error('test over'));
    await expect(a!).rejects.toThrow('test over');
  });
});
