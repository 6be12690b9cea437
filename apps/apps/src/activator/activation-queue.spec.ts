import { ActivationQueue, QueueFullError, WakeTimeoutError } from './activation-queue.js';

describe('ActivationQueue', () => {
  const make = (over: { limit?: number; timeoutMs?: number } = {}) => {
    const events: string[] = [];
    const queue = new ActivationQueue({
      limit: over.limit ?? 1000,
      timeoutMs: over.timeoutMs ?? 60_000,
      queued: (id, waiting) => events.push(`${id} queued ${waiting}`),
      emptied: (id) => events.push(`${id} emptied`),
    });
    return { queue, events };
  };
  /** A replica with `slots` free: hands out its name until full. */
  const replica = (name: string, slots: number) => () => (slots-- > 0 ? name : null);

  it('hands a replica with room to the oldest requests, one slot each, and keeps the rest waiting', async () => {
    const { queue } = make();
    const order: number[] = [];
    const waits = Array.from({ length: 5 }, (_, i) => queue.wait('app').then((endpoint) => (order.push(i), endpoint)));
    expect(queue.dispatch('app', replica('r1', 2))).toBe(2);
    await Promise.resolve();
    expect(queue.waiting('app')).toBe(3);
    expect(queue.dispatch('app', replica('r2', 10))).toBe(3);
    expect(await Promise.all(waits)).toEqual(['r1', 'r1', 'r2', 'r2', 'r2']);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(queue.waiting('app')).toBe(0);
  });

  it('releases nobody while no replica has room', async () => {
    const { queue } = make();
    const waiting = queue.wait('app');
    expect(queue.dispatch('app', () => null)).toBe(0);
    expect(queue.waiting('app')).toBe(1);
    queue.close(new Error('done'));
    await expect(waiting).rejects.toThrow('done');
  });

  it('says how many wait as each joins, and when the last has left, per app', async () => {
    const { queue, events } = make();
    const a = [queue.wait('app'), queue.wait('app')];
    const other = queue.wait('other');
    queue.dispatch('app', replica('r', 2));
    queue.dispatch('other', replica('o', 1));
    await Promise.all([...a, other]);
    expect(events).toEqual(['app queued 1', 'app queued 2', 'other queued 1', 'app emptied', 'other emptied']);
  });

  it('refuses at once when the app’s queue is full', async () => {
    const { queue } = make({ limit: 2 });
    const kept = [queue.wait('app'), queue.wait('app')];
    await expect(queue.wait('app')).rejects.toBeInstanceOf(QueueFullError);
    queue.dispatch('app', replica('r', 2));
    await Promise.all(kept);
  });

  it('gives up on a request after its deadline', async () => {
    const { queue, events } = make({ timeoutMs: 20 });
    await expect(queue.wait('app')).rejects.toBeInstanceOf(WakeTimeoutError);
    expect(queue.waiting('app')).toBe(0);
    expect(events).toEqual(['app queued 1', 'app emptied']);
  });

  it('lets a request whose client went away leave the queue, and gives its turn to the next', async () => {
    const { queue } = make();
    const abort = new AbortController();
    const leaving = queue.wait('app', abort.signal);
    const staying = queue.wait('app');
    abort.abort(new Error('client closed'));
    await expect(leaving).rejects.toThrow('client closed');
    expect(queue.waiting('app')).toBe(1);
    queue.dispatch('app', replica('r', 1));
    await expect(staying).resolves.toBe('r');
  });

  it('does not queue a request whose client went away already', async () => {
    const { queue, events } = make();
    const abort = new AbortController();
    abort.abort(new Error('client closed'));
    await expect(queue.wait('app', abort.signal)).rejects.toThrow('client closed');
    expect(queue.waiting('app')).toBe(0);
    expect(events).toEqual([]);
  });

  it('answers everyone waiting when the app cannot be served', async () => {
    const { queue } = make();
    const waits = [queue.wait('app'), queue.wait('app')];
    queue.fail('app', new Error('the app is off'));
    for (const w of waits) await expect(w).rejects.toThrow('the app is off');
  });
});
