import { ConcurrencyMeter } from './concurrency-meter.js';

describe('ConcurrencyMeter', () => {
  let now = 0;
  const meter = () => new ConcurrencyMeter(() => now);
  beforeEach(() => (now = 10_000));

  it('averages concurrency over the interval, weighted by time', () => {
    const m = meter();
    m.arrived('a'); // queued from 10 000
    now += 250;
    m.started('a'); // in flight, still 1
    m.arrived('a');
    m.started('a'); // 2 from 10 250
    now += 250;
    m.finished('a');
    m.finished('a'); // 0 from 10 500
    now += 500;
    const [report] = m.report();
    expect(report).toEqual({ appId: 'a', average: (1 * 250 + 2 * 250) / 1000, current: 0, queued: 0, requests: 2, lastRequestAt: 10_250 });
  });

  it('sees many short requests as the load they are, not as zero', () => {
    const m = meter();
    for (let i = 0; i < 1000; i++) {
      m.arrived('a');
      m.started('a');
      now += 1;
      m.finished('a');
    }
    expect(m.report()[0]!.average).toBeCloseTo(1);
  });

  it('reports what is still going on in every interval, and forgets idle apps after one report', () => {
    const m = meter();
    m.arrived('a');
    m.arrived('b');
    m.abandoned('b');
    now += 1000;
    expect(m.report().map((r) => [r.appId, r.average, r.current, r.queued])).toEqual([
      ['a', 1, 1, 1],
      ['b', 0, 0, 0],
    ]);
    now += 1000;
    expect(m.report().map((r) => [r.appId, r.average, r.requests])).toEqual([['a', 1, 0]]);
    expect(m.current('a')).toBe(1);
    expect(m.current('b')).toBe(0);
  });
});
