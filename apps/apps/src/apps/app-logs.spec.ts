import { type LogReader, LOGS_REPLY_MAX_BYTES, readAppLogs } from './app-logs.js';

/**
 * Replicas' output held in memory, read as the process runtime reads its files: the tail or what
 * follows a cursor (here a line index), in whole lines of at most `maxBytes` together.
 */
function outputs(byReplica: Record<string, string[]>) {
  const calls: { id: string; maxBytes: number }[] = [];
  const read: LogReader = async (id, cursor, count, maxBytes) => {
    calls.push({ id, maxBytes });
    const all = byReplica[id] ?? [];
    const size = (line: string) => Buffer.byteLength(line) + 1;
    if (cursor === null) {
      const out: string[] = [];
      let bytes = 0;
      for (let i = all.length - 1; i >= 0 && out.length < count && bytes + size(all[i]!) <= maxBytes; i--) {
        bytes += size(all[i]!);
        out.unshift(all[i]!);
      }
      return { lines: out, cursor: String(all.length) };
    }
    let i = Number(cursor);
    const out: string[] = [];
    let bytes = 0;
    for (; i < all.length && bytes + size(all[i]!) <= maxBytes; i++) {
      bytes += size(all[i]!);
      out.push(all[i]!);
    }
    return { lines: out, cursor: String(i) };
  };
  return { read, calls };
}

const replicas = (...ids: string[]) => ids.map((id, i) => ({ id, label: `r${i + 1}` }));
const replyBytes = (reply: unknown) => Buffer.byteLength(JSON.stringify({ ok: true, data: reply }));

describe('reading an app’s logs for one reply', () => {
  it('gives the last lines of every replica, labelled, when they are small', async () => {
    const { read } = outputs({ a: ['one', 'two', 'three'], b: ['four'] });
    expect(await readAppLogs(read, replicas('a', 'b'), 2, null)).toEqual({
      lines: [
        { replica: 'r1', text: 'two' },
        { replica: 'r1', text: 'three' },
        { replica: 'r2', text: 'four' },
      ],
      cursor: { a: '3', b: '1' },
    });
  });

  it('keeps a reply of 5000 long lines from each of many replicas under NATS’s 1 MiB', async () => {
    const long = Array.from({ length: 20_000 }, (_, i) => `${i} ${'x'.repeat(300)}`);
    const { read } = outputs(Object.fromEntries(['a', 'b', 'c', 'd'].map((id) => [id, long])));
    const reply = await readAppLogs(read, replicas('a', 'b', 'c', 'd'), 5000, null);
    expect(replyBytes(reply)).toBeLessThan(1024 * 1024);
    expect(JSON.stringify(reply).length).toBeLessThanOrEqual(LOGS_REPLY_MAX_BYTES);
    // Each replica shares the budget, and its lines are its last ones.
    for (const label of ['r1', 'r2', 'r3', 'r4']) expect(reply.lines.filter((l) => l.replica === label).at(-1)?.text).toBe(long.at(-1));
  });

  it('follows in bounded steps: what does not fit comes next time, nothing is skipped', async () => {
    const long = Array.from({ length: 10_000 }, (_, i) => `${i} ${'z'.repeat(200)}`);
    const { read } = outputs({ a: long });
    const seen: string[] = [];
    let cursor: Record<string, string> = { a: '0' };
    for (let call = 0; call < 20 && seen.length < long.length; call++) {
      const reply = await readAppLogs(read, replicas('a'), 200, cursor);
      expect(replyBytes(reply)).toBeLessThan(1024 * 1024);
      seen.push(...reply.lines.map((l) => l.text));
      cursor = reply.cursor;
    }
    expect(seen).toEqual(long);
  });

  it('reads less when the output would swell in JSON (control characters), until the reply fits', async () => {
    const ugly = Array.from({ length: 20_000 }, () => '\u0001'.repeat(100));
    const { read, calls } = outputs({ a: ugly, b: ugly });
    const reply = await readAppLogs(read, replicas('a', 'b'), 5000, null);
    expect(replyBytes(reply)).toBeLessThan(1024 * 1024);
    expect(reply.lines.length).toBeGreaterThan(0);
    expect(new Set(calls.map((c) => c.maxBytes)).size).toBeGreaterThan(1);
  });
});
