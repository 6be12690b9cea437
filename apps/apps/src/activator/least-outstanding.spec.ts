import { LeastOutstanding, SLOW_START } from './least-outstanding.js';

describe('LeastOutstanding', () => {
  it('sends each request to the replica with the fewest outstanding, spreading ties', () => {
    const b = new LeastOutstanding();
    const replicas = ['a', 'b', 'c'];
    const picks = Array.from({ length: 6 }, () => b.pick(replicas));
    expect(picks.filter((p) => p === 'a')).toHaveLength(2);
    expect(picks.filter((p) => p === 'b')).toHaveLength(2);
    expect(picks.filter((p) => p === 'c')).toHaveLength(2);
  });

  it('avoids a replica still busy with slow requests', () => {
    const b = new LeastOutstanding();
    b.pick(['a']);
    b.pick(['a']);
    for (let i = 0; i < 2; i++) expect(b.pick(['a', 'b'])).toBe('b');
    expect(b.count('b')).toBe(2);
    b.done('a');
    b.done('a');
    expect(b.count('a')).toBe(0);
    expect(b.pick(['a', 'b'])).toBe('a');
  });

  it('gives no replica more than its capacity in flight, and has none to give when all are full', () => {
    const b = new LeastOutstanding();
    const picks = Array.from({ length: 5 }, () => b.pick(['a', 'b'], 2));
    expect(picks.filter((p) => p === 'a')).toHaveLength(2);
    expect(picks.filter((p) => p === 'b')).toHaveLength(2);
    expect(picks[4]).toBeNull();
    b.done('b');
    expect(b.pick(['a', 'b'], 2)).toBe('b');
    expect(b.all()).toEqual({ a: 2, b: 2 });
  });

  it('gives a replica it has had no answers from SLOW_START at once, then one more per answer, up to its capacity', () => {
    const b = new LeastOutstanding();
    const capacity = SLOW_START + 3;
    const take = () => {
      let n = 0;
      while (b.pick(['a'], capacity) !== null) n++;
      return n;
    };
    expect(take()).toBe(SLOW_START);
    b.done('a');
    // One answer frees one slot and earns one more.
    expect(take()).toBe(2);
    for (let i = 0; i < SLOW_START + 1; i++) b.done('a');
    // Warm (SLOW_START + answers >= capacity): its whole capacity, and never more.
    expect(b.count('a')).toBe(0);
    expect(take()).toBe(capacity);
    expect(b.pick(['a'], capacity)).toBeNull();
    // Without a capacity (routes of older publishers), no warming up either.
    expect(Array.from({ length: 50 }, () => b.pick(['fresh'])).every((p) => p === 'fresh')).toBe(true);
  });

  it('has nothing to pick from no replicas', () => {
    expect(new LeastOutstanding().pick([])).toBeNull();
  });
});
