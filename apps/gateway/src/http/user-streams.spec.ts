import { jest } from '@jest/globals';
import { UserStreams } from './user-streams.js';

describe("a user's event streams", () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());
  const HOUR = 3_600_000;

  it('are refused past SSE_STREAMS_PER_USER, with words that say what to do, and counted per user', () => {
    const streams = new UserStreams({ streamsPerUser: 2 });
    streams.acquire('dana', Date.now() + HOUR);
    streams.acquire('dana', Date.now() + HOUR);
    expect(() => streams.acquire('dana', Date.now() + HOUR)).toThrow(
      expect.objectContaining({ code: 'TOO_MANY_STREAMS', message: expect.stringMatching(/you already have 2 event streams open, the most one user may hold \(2, SSE_STREAMS_PER_USER\): close one/) }),
    );
    expect(() => streams.acquire('eve', Date.now() + HOUR)).not.toThrow();
  });

  it('gives a slot back when a stream ends, once however often it is released', () => {
    const streams = new UserStreams({ streamsPerUser: 2 });
    const first = streams.acquire('dana', Date.now() + HOUR);
    streams.acquire('dana', Date.now() + HOUR);
    first.release();
    first.release();
    expect(streams.heldBy('dana')).toBe(1);
    streams.acquire('dana', Date.now() + HOUR);
    expect(() => streams.acquire('dana', Date.now() + HOUR)).toThrow();
  });

  it('ends a stream when the token that opened it expires, saying why, and frees its slot', () => {
    const streams = new UserStreams({ streamsPerUser: 1 });
    const lease = streams.acquire('dana', Date.now() + 30_000);
    const ended: unknown[] = [];
    lease.endAtExpiry((reason) => ended.push(reason));
    jest.advanceTimersByTime(29_999);
    expect(ended).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(ended).toEqual([{ reason: 'token-expired', message: 'the token that opened this stream expired at 1970-01-01T00:17:10.000Z; sign in again and reconnect' }]);
    expect(streams.heldBy('dana')).toBe(0);
  });

  it('waits out a token valid for longer than one timer can wait', () => {
    const streams = new UserStreams({ streamsPerUser: 1 });
    const ended: unknown[] = [];
    streams.acquire('dana', Date.now() + 40 * 24 * HOUR).endAtExpiry((reason) => ended.push(reason));
    jest.advanceTimersByTime(30 * 24 * HOUR);
    expect(ended).toEqual([]);
    jest.advanceTimersByTime(10 * 24 * HOUR);
    expect(ended).toHaveLength(1);
  });

  it('does not end a stream already released', () => {
    const streams = new UserStreams({ streamsPerUser: 1 });
    const lease = streams.acquire('dana', Date.now() + 1000);
    const ended: unknown[] = [];
    lease.endAtExpiry((reason) => ended.push(reason));
    lease.release();
    jest.advanceTimersByTime(5000);
    expect(ended).toEqual([]);
  });
});
