import { EventEmitter } from 'node:events';
import type { RpcClient } from '@launchpad/messaging';
import type { Response } from 'express';
import { AppLogStream } from './app-logs.stream.js';
import { UserStreams } from '../http/user-streams.js';

const LAUNCHER = '11111111-2222-4333-8444-555555555555';
const dana = { userId: 'dana', admin: false };

/** Just enough of an Express response for a server-sent event stream. */
class FakeResponse extends EventEmitter {
  written: string[] = [];
  writableEnded = false;
  status() {
    return this;
  }
  setHeader() {
    return this;
  }
  flushHeaders() {}
  write(chunk: string) {
    this.written.push(chunk);
    return true;
  }
  end() {
    this.writableEnded = true;
    return this;
  }
}

/** An RPC client whose every call waits until the test answers it. */
function pendingRpc() {
  const calls: { resolve(value: unknown): void }[] = [];
  let called: () => void = () => undefined;
  const rpc = {
    call: () =>
      new Promise((resolve) => {
        calls.push({ resolve });
        called();
      }),
  } as unknown as RpcClient;
  const nextCall = (count: number) => new Promise<void>((resolve) => (calls.length >= count ? resolve() : (called = () => calls.length >= count && resolve())));
  return { rpc, calls, nextCall };
}

describe('following an app’s logs', () => {
  it('ends, without polling again, when the client leaves while the first lines are read', async () => {
    const { rpc, calls } = pendingRpc();
    const res = new FakeResponse();
    const following = new AppLogStream(rpc, new UserStreams({ streamsPerUser: 10 })).stream(dana, LAUNCHER, 10, res as unknown as Response, Date.now() + 3_600_000);
    res.emit('close');
    calls[0]!.resolve({ lines: [{ replica: 'r1', text: 'hello' }], cursor: { a: '5' } });
    await following;
    expect(calls).toHaveLength(1);
    expect(res.written).toEqual([]);
  });

  it('stops polling as soon as the client leaves mid-stream', async () => {
    const { rpc, calls, nextCall } = pendingRpc();
    const res = new FakeResponse();
    const following = new AppLogStream(rpc, new UserStreams({ streamsPerUser: 10 })).stream(dana, LAUNCHER, 10, res as unknown as Response, Date.now() + 3_600_000);
    calls[0]!.resolve({ lines: [{ replica: 'r1', text: 'hello' }], cursor: { a: '5' } });
    await nextCall(2);
    calls[1]!.resolve({ lines: [{ replica: 'r1', text: 'again' }], cursor: { a: '11' } });
    // Waiting between two polls now: leaving ends the stream at once.
    await new Promise((r) => setImmediate(r));
    res.emit('close');
    await following;
    expect(calls).toHaveLength(2);
    expect(res.written.filter((w) => w.startsWith('event: log'))).toEqual([
      `event: log\ndata: ${JSON.stringify({ replica: 'r1', line: '[r1] hello' })}\n\n`,
      `event: log\ndata: ${JSON.stringify({ replica: 'r1', line: '[r1] again' })}\n\n`,
    ]);
    expect(res.writableEnded).toBe(true);
  });
});

describe('a followed app log stream and its user', () => {
  it("takes one of the user's stream slots while it runs, and ends saying why when the token expires", async () => {
    const { rpc, calls } = pendingRpc();
    const streams = new UserStreams({ streamsPerUser: 1 });
    const res = new FakeResponse();
    const following = new AppLogStream(rpc, streams).stream(dana, LAUNCHER, 10, res as unknown as Response, Date.now() + 200);
    expect(streams.heldBy('dana')).toBe(1);
    await expect(new AppLogStream(rpc, streams).stream(dana, LAUNCHER, 10, new FakeResponse() as unknown as Response, Date.now() + 200)).rejects.toMatchObject({ code: 'TOO_MANY_STREAMS' });
    calls[0]!.resolve({ lines: [], cursor: {} });
    // Between two polls (a second apart) when the token expires: the stream ends without polling again.
    await following;
    expect(calls).toHaveLength(1);
    expect(res.written.at(-1)).toMatch(/^event: end\ndata: \{"reason":"token-expired","message":"the token that opened this stream expired at .*; sign in again and reconnect"\}\n\n$/);
    expect(streams.heldBy('dana')).toBe(0);
  });
});
