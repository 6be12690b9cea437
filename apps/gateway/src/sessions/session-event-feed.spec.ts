import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { type SessionProgress, sessionDeletedV1, sessionProgressedV1 } from '@launchpad/contracts';
import { startNats, type TestNats, waitFor } from '../../../../tools/testing/harness.js';
import { SessionEventFeed } from './session-event-feed.js';

const envelope = (type: string, data: unknown) => JSON.stringify({ id: randomUUID(), type, version: 1, occurredAt: new Date().toISOString(), data });
const step = (sessionId: string, seq: number): SessionProgress => ({ sessionId, seq, phase: 'starting', status: 'starting', message: `step ${seq}`, at: new Date().toISOString() });

/** The feed on a real (private) NATS server; events published as the sessions service's relay does, as core messages on the subject. */
describe('SessionEventFeed', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let feed: SessionEventFeed;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url, ...nats.auth });
  });
  afterAll(async () => {
    await nc.close();
    await nats.dispose();
  });
  beforeEach(() => (feed = new SessionEventFeed(nc)));
  afterEach(() => feed.onApplicationShutdown());

  it('hands each stream the steps and the deletion of its own session only', async () => {
    const a = randomUUID();
    const b = randomUUID();
    const seen: string[] = [];
    const listen = (id: string, name: string) => feed.listen(id, { progress: (p) => seen.push(`${name}:${p.seq}`), deleted: () => seen.push(`${name}:deleted`) });
    listen(a, 'a1');
    listen(a, 'a2');
    listen(b, 'b');
    await nc.flush();
    nc.publish(sessionProgressedV1.type, envelope(sessionProgressedV1.type, step(a, 1)));
    nc.publish(sessionProgressedV1.type, envelope(sessionProgressedV1.type, step(randomUUID(), 1)));
    nc.publish(sessionProgressedV1.type, 'not json');
    nc.publish(sessionProgressedV1.type, envelope(sessionProgressedV1.type, { sessionId: b, seq: 'two' }));
    nc.publish(sessionDeletedV1.type, envelope(sessionDeletedV1.type, { id: b, userId: 'u', launcherId: 'l' }));
    await waitFor('the deletion of b', async () => seen.includes('b:deleted'));
    expect(seen).toEqual(['a1:1', 'a2:1', 'b:deleted']);
  });

  it('stops handing events to a stream that stopped listening, and forgets a session nobody follows', async () => {
    const a = randomUUID();
    const seen: number[] = [];
    const stop = feed.listen(a, { progress: (p) => seen.push(p.seq), deleted: () => undefined });
    const other = feed.listen(randomUUID(), { progress: () => undefined, deleted: () => undefined });
    await nc.flush();
    nc.publish(sessionProgressedV1.type, envelope(sessionProgressedV1.type, step(a, 1)));
    await waitFor('step 1', async () => seen.length === 1);
    stop();
    expect(feed.following).toBe(1);
    nc.publish(sessionProgressedV1.type, envelope(sessionProgressedV1.type, step(a, 2)));
    await nc.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([1]);
    other();
    expect(feed.following).toBe(0);
  });
});
