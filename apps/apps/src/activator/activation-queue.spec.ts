import { ActivationQueue, QueueFullError, WakeTimeoutError } from './activation-queue.js';

describe('ActivationQueue', () => {
  const make = (over: { limit?: number; timeoutMs?: number } = {}) => {
    const wakes: string[] = [];
    const queue = new ActivationQueue({ limit: over.limit ?? 1000, timeoutMs: over.timeoutMs ?? 60_000, wake: (id) => wakes.push(id) });
    return { queue, wakes };
  };

  it('asks for one replica however many requests wait, and lets them all go when it is ready', async () => {
    const { queue, wakes } = make();
    const waits = Array.from({ length: 200 }, () => queue.wait('app'));
    expect(wakes).toEqual(['app']);
    expect(queue.waiting('app')).toBe(200);
    queue.ready('app');
    await expect(Promise.all(waits)).resolves.toHaveLength(200);
    expect(queue.waiting('app')).toBe(0);
  });

  it('wakes again for the next cold start, and separately per app', async () => {
    const { queue, wakes } = make();
    const first = queue.wait('app');
    queue.ready('app');
    await first;
    const second = queue.wait('app');
    const other = queue.wait('other');
    expect(wakes).toEqual(['app', 'app', 'other']);
    queue.ready('app');
    queue.ready('other');
    await Promise.all([second, other]);
  });

  it('refuses at once when the app’s queue is full', async () => {
    const { queue } = make({ limit: 2 });
    const kept = [queue.wait('app'), queue.wait('app')];
    await expect(queue.wait('app')).rejects.toBeInstanceOf(QueueFullError);
    queue.ready('app');
    await Promise.all(kept);
  });

  it('gives up on a request after its deadline', async () => {
    const { queue, wakes } = make({ timeoutMs: 20 });
    await expect(queue.wait('app')).rejects.toBeInstanceOf(WakeTimeoutError);
    expect(queue.waiting('app')).toBe(0);
    // The next one asks again: the first wake may have been lost.
    const next = queue.wait('app');
    expect(wakes).toEqual(['app', 'app']);
    queue.ready('app');
    await next;
  });

  it('lets a request whose client went away leave the queue', async () => {
    const { queue } = make();
    const abort = new AbortController();
    const leaving = queue.wait('app', abort.signal);
    const staying = queue.wait('app');
    abort.abort(new Error('client closed'));
    await expect(leaving).rejects.toThrow('client closed');
    expect(queue.waiting('app')).toBe(1);
    queue.ready('app');
    await staying;
  });

  it('does not queue a request whose client went away already', async () => {
    const { queue, wakes } = make();
    const abort = new AbortController();
    abort.abort(new Error('client closed'));
    await expect(queue.wait('app', abort.signal)).rejects.toThrow('client closed');
    expect(queue.waiting('app')).toBe(0);
    expect(wakes).toEqual([]);
  });

  it('answers everyone waiting when the app cannot be served', async () => {
    const { queue } = make();
    const waits = [queue.wait('app'), queue.wait('app')];
    queue.fail('app', new Error('the app is off'));
    for (const w of waits) await expect(w).rejects.toThrow('the app is off');
  });
});
