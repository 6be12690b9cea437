import { EventEmitter } from 'node:events';
import type { NatsConnection } from '@nats-io/nats-core';
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
  const calls: { request: any; resolve(value: unknown): void; reject(error: unknown): void }[] = [];
  const rpc = {
    call: (_contract: unknown, request: unknown) => new Promise((resolve, reject) => void calls.push({ request, resolve, reject })),
  } as unknown as RpcClient;
  return { rpc, calls };
}

/** Core NATS as the gateway sees it: subscriptions the test delivers batches to, as the apps service would. */
function fakeNats() {
  const subscriptions: { subject: string; callback: (err: unknown, msg: unknown) => void; unsubscribed: boolean }[] = [];
  const acks: string[] = [];
  const nc = {
    subscribe: (subject: string, options: { callback: (err: unknown, msg: unknown) => void }) => {
      const sub = { subject, callback: options.callback, unsubscribed: false };
      subscriptions.push(sub);
      return { unsubscribe: () => void (sub.unsubscribed = true) };
    },
  } as unknown as NatsConnection;
  const deliver = (batch: unknown) => {
    const sub = subscriptions.at(-1)!;
    if (!sub.unsubscribed) sub.callback(null, { json: () => batch, respond: () => void acks.push(sub.subject) });
  };
  return { nc, subscriptions, acks, deliver };
}

const stream = (rpc: RpcClient, nc: NatsConnection, streams = new UserStreams({ streamsPerUser: 10 })) => new AppLogStream(rpc, streams, nc);
const logEvents = (res: FakeResponse) => res.written.filter((w) => w.startsWith('event: log'));

describe('following an app’s logs', () => {
  it('subscribes to a stream of its own before it asks the apps service to follow, and writes each batch it acknowledges', async () => {
    const { rpc, calls } = pendingRpc();
    const { nc, subscriptions, acks, deliver } = fakeNats();
    const res = new FakeResponse();
    const following = stream(rpc, nc).stream(dana, LAUNCHER, 10, res as unknown as Response, Date.now() + 3_600_000);
    expect(subscriptions).toHaveLength(1);
    const { streamId } = calls[0]!.request;
    expect(calls[0]!.request).toMatchObject({ caller: dana, launcherId: LAUNCHER, lines: 10 });
    expect(subscriptions[0]!.subject).toBe(`apps.logs.${streamId}`);
    expect(streamId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // The tail may arrive before the answer: held until the stream is open.
    deliver({ lines: [{ replica: 'r1', text: 'hello' }] });
    calls[0]!.resolve({ following: true });
    await following;
    deliver({ lines: [{ replica: 'r2', text: 'again' }] });
    deliver({ lines: [] }); // a heartbeat
    expect(logEvents(res)).toEqual([
      `event: log\ndata: ${JSON.stringify({ replica: 'r1', line: '[r1] hello' })}\n\n`,
      `event: log\ndata: ${JSON.stringify({ replica: 'r2', line: '[r2] again' })}\n\n`,
    ]);
    expect(acks).toHaveLength(3);
    // The client leaves: unsubscribed, so the apps service's next batch finds no responder and it stops.
    res.emit('close');
    expect(subscriptions[0]!.unsubscribed).toBe(true);
    expect(res.writableEnded).toBe(true);
  });

  it('ends without writing a byte when the client leaves while the follow is asked for', async () => {
    const { rpc, calls } = pendingRpc();
    const { nc, subscriptions } = fakeNats();
    const res = new FakeResponse();
    const following = stream(rpc, nc).stream(dana, LAUNCHER, 10, res as unknown as Response, Date.now() + 3_600_000);
    res.emit('close');
    calls[0]!.resolve({ following: true });
    await following;
    expect(res.written).toEqual([]);
    expect(subscriptions[0]!.unsubscribed).toBe(true);
  });

  it('passes a refusal on as it came (a problem, not a stream) and unsubscribes', async () => {
    const { rpc, calls } = pendingRpc();
    const { nc, subscriptions } = fakeNats();
    const res = new FakeResponse();
    const following = stream(rpc, nc).stream(dana, LAUNCHER, 10, res as unknown as Response, Date.now() + 3_600_000);
    calls[0]!.reject(Object.assign(new Error('you need the developer role'), { code: 'INSUFFICIENT_PROJECT_ROLE' }));
    await expect(following).rejects.toMatchObject({ code: 'INSUFFICIENT_PROJECT_ROLE' });
    expect(res.written).toEqual([]);
    expect(subscriptions[0]!.unsubscribed).toBe(true);
  });

  it('ends saying why when the apps service says the stream is over', async () => {
    const { rpc, calls } = pendingRpc();
    const { nc, subscriptions, deliver } = fakeNats();
    const res = new FakeResponse();
    const following = stream(rpc, nc).stream(dana, LAUNCHER, 10, res as unknown as Response, Date.now() + 3_600_000);
    calls[0]!.resolve({ following: true });
    await following;
    deliver({ lines: [], end: 'the app was deleted' });
    expect(res.written.at(-1)).toMatch(/^event: end\ndata: \{"reason":"the app was deleted"/);
    expect(res.writableEnded).toBe(true);
    expect(subscriptions[0]!.unsubscribed).toBe(true);
  });
});

describe('a followed app log stream and its user', () => {
  it("takes one of the user's stream slots while it runs, and ends saying why when the token expires", async () => {
    const { rpc, calls } = pendingRpc();
    const { nc, subscriptions } = fakeNats();
    const streams = new UserStreams({ streamsPerUser: 1 });
    const res = new FakeResponse();
    const following = stream(rpc, nc, streams).stream(dana, LAUNCHER, 10, res as unknown as Response, Date.now() + 200);
    expect(streams.heldBy('dana')).toBe(1);
    await expect(stream(rpc, nc, streams).stream(dana, LAUNCHER, 10, new FakeResponse() as unknown as Response, Date.now() + 200)).rejects.toMatchObject({ code: 'TOO_MANY_STREAMS' });
    calls[0]!.resolve({ following: true });
    await following;
    await new Promise((r) => setTimeout(r, 400));
    expect(res.written.at(-1)).toMatch(/^event: end\ndata: \{"reason":"token-expired","message":"the token that opened this stream expired at .*; sign in again and reconnect"\}\n\n$/);
    expect(streams.heldBy('dana')).toBe(0);
    expect(subscriptions[0]!.unsubscribed).toBe(true);
  });
});
