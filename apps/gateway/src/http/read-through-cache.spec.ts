import { ReadThroughCache } from './read-through-cache.js';

/** A load the test finishes when it chooses. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('ReadThroughCache', () => {
  let now: number;
  let loads: number;
  const make = (ttlMs = 1_000, limit = 10) => new ReadThroughCache<string>(ttlMs, limit, () => now);
  const counted = (value: string) => () => (loads++, Promise.resolve(value));
  beforeEach(() => ((now = 1_000_000), (loads = 0)));

  it('answers a key from its first load until the ttl since that load began has passed', async () => {
    const cache = make();
    expect(await cache.get('a', counted('one'))).toBe('one');
    now += 999;
    expect(await cache.get('a', counted('two'))).toBe('one');
    expect(loads).toBe(1);
    now += 1;
    expect(await cache.get('a', counted('three'))).toBe('three');
    expect(loads).toBe(2);
  });

  it('keeps each key apart', async () => {
    const cache = make();
    expect(await cache.get('a', counted('A'))).toBe('A');
    expect(await cache.get('b', counted('B'))).toBe('B');
    expect(await cache.get('a', counted('other'))).toBe('A');
  });

  it('loads a key once for everyone who asks while it loads', async () => {
    const cache = make();
    const load = deferred<string>();
    const first = cache.get('a', () => (loads++, load.promise));
    const second = cache.get('a', counted('not asked'));
    load.resolve('one');
    expect(await Promise.all([first, second])).toEqual(['one', 'one']);
    expect(loads).toBe(1);
  });

  it('does not keep a failure: the next caller loads again', async () => {
    const cache = make();
    await expect(cache.get('a', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('a', counted('back'))).toBe('back');
  });

  it('answers nobody from before an invalidation, not even a load still running then', async () => {
    const cache = make();
    expect(await cache.get('a', counted('old'))).toBe('old');
    const running = deferred<string>();
    const before = cache.get('b', () => running.promise);
    cache.invalidate();
    // Asked after: a load of its own, not the one that began before the change.
    const after = cache.get('b', counted('new b'));
    expect(await cache.get('a', counted('new a'))).toBe('new a');
    running.resolve('old b');
    expect(await before).toBe('old b');
    expect(await after).toBe('new b');
    // And the old load, finishing last, did not replace what was loaded since.
    expect(await cache.get('b', counted('unused'))).toBe('new b');
  });

  it('does not keep what a load that began before an invalidation answers', async () => {
    const cache = make();
    const running = deferred<string>();
    const before = cache.get('a', () => running.promise);
    cache.invalidate();
    running.resolve('old');
    expect(await before).toBe('old');
    expect(await cache.get('a', counted('new'))).toBe('new');
  });

  it('keeps nothing while paused, and nothing from before once resumed', async () => {
    const cache = make();
    expect(await cache.get('a', counted('kept'))).toBe('kept');
    cache.pause();
    expect(await cache.get('a', counted('paused 1'))).toBe('paused 1');
    expect(await cache.get('a', counted('paused 2'))).toBe('paused 2');
    const running = deferred<string>();
    const during = cache.get('a', () => running.promise);
    cache.resume();
    running.resolve('from the pause');
    expect(await during).toBe('from the pause');
    expect(await cache.get('a', counted('resumed'))).toBe('resumed');
    expect(await cache.get('a', counted('unused'))).toBe('resumed');
  });

  it('keeps at most `limit` keys, dropping the oldest first', async () => {
    const cache = make(1_000, 3);
    for (const key of ['a', 'b', 'c', 'd']) await cache.get(key, counted(key));
    expect(cache.size).toBe(3);
    loads = 0;
    expect(await cache.get('a', counted('a again'))).toBe('a again');
    expect(await cache.get('d', counted('unused'))).toBe('d');
    expect(loads).toBe(1);
  });

  it('does not keep an answer whose ttl passed while it loaded', async () => {
    const cache = make(1_000);
    const slow = deferred<string>();
    const answer = cache.get('a', () => slow.promise);
    now += 1_000;
    slow.resolve('late');
    expect(await answer).toBe('late');
    expect(cache.size).toBe(0);
  });
});
