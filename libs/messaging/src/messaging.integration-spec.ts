import 'reflect-metadata';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { DEADLETTER_STREAM, defineEvent, type Envelope } from '@launchpad/contracts';
import { createServiceDataSource, lockKey, migrate } from '@launchpad/persistence';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { ADMIN_DATABASE_URL, MACHINE_NATS_URL, uniqueSuffix, waitFor } from '../../../tools/testing/harness.js';
import { readStream } from '../../../tools/testing/streams.js';
import { DurableConsumers, PermanentMessageError } from './consumer.js';
import { CreateMessagingTables1764000000000 } from './messaging-tables.migration.js';
import { OutboxRelay, OutboxWriter } from './outbox.js';
import { applyOnce, applyOnceInOneStatement } from './processed-messages.js';
import { ensureStreams } from './streams.js';

/** Against the machine's Postgres and NATS; isolated by a schema and a stream of its own. */
describe('messaging against real Postgres and NATS', () => {
  const suffix = uniqueSuffix();
  const schema = `msg_test_${suffix}`;
  const stream = `TEST_${suffix.toUpperCase()}`;
  const thingHappened = defineEvent(`test${suffix}.thing.happened`, 1, z.object({ n: z.number().int() }));
  let nc: NatsConnection;
  let ds: DataSource;
  let consumers: DurableConsumers;

  beforeAll(async () => {
    nc = await connect({ servers: MACHINE_NATS_URL });
    await ensureStreams(await jetstreamManager(nc), [{ name: stream, subjects: [`test${suffix}.>`] }, DEADLETTER_STREAM]);
    ds = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema, entities: [], migrations: [CreateMessagingTables1764000000000], applicationName: 'messaging-test' });
    await ds.initialize();
    await migrate(ds, schema);
    await ds.query(`CREATE TABLE "${schema}".applied (message_id text NOT NULL, n integer NOT NULL)`);
    consumers = new DurableConsumers(nc);
  });

  afterAll(async () => {
    await consumers?.onApplicationShutdown();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => undefined);
    await ds?.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds?.destroy();
    await nc?.close();
  });

  /** Publishes an envelope-shaped message and waits until the consumer has parked it. */
  async function publishAndAwaitParked(subject: string, durable: string, body?: unknown) {
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    const id = crypto.randomUUID();
    const payload = body ?? { id, type: subject, version: 1, occurredAt: new Date().toISOString(), data: {} };
    await js.publish(subject, JSON.stringify(payload), { msgID: id });
    return waitFor(`the parked ${subject}`, async () => {
      const found = (await readStream(nc, DEADLETTER_STREAM.name, `deadletter.${stream}.${durable}`)).filter((m) => body !== undefined || m.data.id === id);
      return found.length > 0 ? found : undefined;
    });
  }

  const relay = (writer: OutboxWriter) => new OutboxRelay(ds, nc, writer, { pollIntervalMs: 60_000, batchSize: 10, retentionMs: 3_600_000 });

  it('a row published twice (crash between publish and marking it) is on the stream once', async () => {
    const writer = new OutboxWriter(ds);
    const r = relay(writer);
    const envelope = await ds.transaction((m) => writer.append(m, thingHappened, { n: 1 }));
    expect(await r.publishBatch()).toBe(1);
    await ds.query(`UPDATE "${schema}".outbox SET published_at = NULL WHERE id = $1`, [envelope.id]);
    expect(await r.publishBatch()).toBe(1);
    const onStream = (await readStream(nc, stream, thingHappened.type)).filter((e) => e.data.id === envelope.id);
    expect(onStream).toHaveLength(1);
    expect(onStream[0]?.headers['nats-msg-id']).toBe(envelope.id);
  });

  it('a batch is published in order; a publish that fails in the middle leaves that row pending with its error, and the rest published', async () => {
    const writer = new OutboxWriter(ds);
    const r = relay(writer);
    // No stream takes this subject: JetStream refuses its publish, between two that succeed.
    const unstreamed = defineEvent(`unstreamed${suffix}.thing.lost`, 1, z.object({ n: z.number().int() }));
    const [first, lost, last] = await ds.transaction(async (m) => [
      await writer.append(m, thingHappened, { n: 101 }),
      await writer.append(m, unstreamed, { n: 102 }),
      await writer.append(m, thingHappened, { n: 103 }),
    ]);
    await expect(r.publishBatch()).rejects.toThrow(/1 of 3 events not published/);
    const state = async () =>
      (await ds.query(`SELECT id, published_at IS NOT NULL AS published, attempts, last_error FROM "${schema}".outbox WHERE id = ANY($1::uuid[]) ORDER BY position`, [
        [first.id, lost.id, last.id],
      ])) as { id: string; published: boolean; attempts: number; last_error: string | null }[];
    const after = await state();
    expect(after.map((row) => [row.id, row.published, row.attempts])).toEqual([
      [first.id, true, 0],
      [lost.id, false, 1],
      [last.id, true, 0],
    ]);
    expect(after[1]?.last_error).toBeTruthy();
    const onStream = (await readStream(nc, stream, thingHappened.type)).filter((e) => [first.id, last.id].includes(e.data.id as string));
    expect(onStream.map((e) => (e.data.data as { n: number }).n)).toEqual([101, 103]);
    // Retried at the next batch, alone: still refused, one more attempt recorded; the others are not sent again.
    await expect(r.publishBatch()).rejects.toThrow(/1 of 1 events not published/);
    expect((await state()).map((row) => row.attempts)).toEqual([0, 2, 0]);
    await ds.query(`DELETE FROM "${schema}".outbox WHERE id = $1`, [lost.id]);
  });

  it("Postgres ending the relay's connection while its publishes are awaited (a restart, a failover) fails the batch, not the service; its rows stay pending", async () => {
    const writer = new OutboxWriter(ds);
    const r = relay(writer);
    const envelope = await ds.transaction((m) => writer.append(m, thingHappened, { n: 301 }));
    // A stand-in JetStream whose publish, before it is answered, has Postgres end the relay's
    // connection (idle in its transaction, its claim taken) and waits for the news to reach it.
    (r as unknown as { js: unknown }).js = {
      publish: async () => {
        const ended = await ds.query(
          `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
            WHERE application_name = 'messaging-test' AND state = 'idle in transaction' AND query LIKE '%FOR UPDATE SKIP LOCKED%'`,
        );
        expect(ended).toEqual([{ ended: true }]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        return { seq: 1 };
      },
    };
    await expect(r.publishBatch()).rejects.toThrow();
    const [row] = await ds.query(`SELECT published_at FROM "${schema}".outbox WHERE id = $1`, [envelope.id]);
    expect(row).toEqual({ published_at: null });
    // The pool goes on with connections of its own, and the row is published at the next batch.
    (r as unknown as { js: unknown }).js = undefined;
    expect(await r.publishBatch()).toBe(1);
    const onStream = (await readStream(nc, stream, thingHappened.type)).filter((e) => e.data.id === envelope.id);
    expect(onStream).toHaveLength(1);
  });

  it('a batch of many rows reaches the stream in outbox order', async () => {
    const writer = new OutboxWriter(ds);
    const r = relay(writer);
    const written = await ds.transaction(async (m) => {
      const out = [];
      for (let n = 201; n <= 208; n++) out.push(await writer.append(m, thingHappened, { n }));
      return out;
    });
    expect(await r.publishBatch()).toBe(8);
    const ids = new Set(written.map((e) => e.id));
    const onStream = (await readStream(nc, stream, thingHappened.type)).filter((e) => ids.has(e.data.id as string));
    expect(onStream.map((e) => (e.data.data as { n: number }).n)).toEqual([201, 202, 203, 204, 205, 206, 207, 208]);
    expect(await r.publishBatch()).toBe(0);
  });

  it('refuses to write an event outside a transaction, so it cannot be committed without its change', async () => {
    await expect(new OutboxWriter(ds).append(ds.manager, thingHappened, { n: 2 })).rejects.toThrow(/inside a transaction/);
  });

  it('a consumer that sees a message twice applies it once', async () => {
    const deliveries: number[] = [];
    const subject = `test${suffix}.thing.twice`;
    await consumers.start({
      stream,
      durable: `test-${suffix}-twice`,
      filterSubjects: [subject],
      backoffMs: [50],
      handler: async (envelope: Envelope, msg) => {
        deliveries.push(msg.info.deliveryCount);
        await applyOnce(ds, `test-${suffix}-twice`, envelope.id, async (m) => {
          await m.query(`INSERT INTO "${schema}".applied (message_id, n) VALUES ($1, $2)`, [envelope.id, (envelope.data as { n: number }).n]);
        });
        // The first delivery commits its effect and then "crashes" before the ack.
        if (msg.info.deliveryCount === 1) throw new Error('crashed after commit, before ack');
      },
    });
    const id = crypto.randomUUID();
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    await js.publish(subject, JSON.stringify({ id, type: subject, version: 1, occurredAt: new Date().toISOString(), data: { n: 7 } }), { msgID: id });
    await waitFor('the redelivery', async () => deliveries.length >= 2);
    const rows = await ds.query(`SELECT n FROM "${schema}".applied WHERE message_id = $1`, [id]);
    expect(rows).toEqual([{ n: 7 }]);
    expect(deliveries).toEqual([1, 2]);
  });

  it('applyOnce takes the lock it is given before the processed-message row, for the effect to run under; a message seen again runs nothing', async () => {
    const key = lockKey('test', suffix, 'apply-once');
    const heldByUs = (m: { query(sql: string, params: unknown[]): Promise<unknown> }) =>
      m.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() AND objid = hashtext($1)::oid`, [key]) as Promise<
        { n: number }[]
      >;
    const id = crypto.randomUUID();
    const seen: number[] = [];
    expect(await applyOnce(ds, `test-${suffix}-locked`, id, async (m) => void seen.push((await heldByUs(m))[0].n), { lock: key })).toBe(true);
    expect(await applyOnce(ds, `test-${suffix}-locked`, id, async () => void seen.push(-1), { lock: key })).toBe(false);
    expect(seen).toEqual([1]);
  });

  it('applyOnceInOneStatement writes the effect with the processed-message row, once; declined, it writes neither', async () => {
    const consumer = `test-${suffix}-one-statement`;
    const effect = (n: number) => ({ sql: `INSERT INTO "${schema}".applied (message_id, n) SELECT $1, $2 FROM processed`, params: [`one-${suffix}`, n] });
    const applied = async () => ds.query(`SELECT n FROM "${schema}".applied WHERE message_id = $1 ORDER BY n`, [`one-${suffix}`]);
    const [first, second] = [crypto.randomUUID(), crypto.randomUUID()];
    const lock = lockKey('test', suffix, 'one-statement');
    expect(await applyOnceInOneStatement(ds, consumer, first, { effect: effect(1), lock })).toBe('applied');
    expect(await applyOnceInOneStatement(ds, consumer, first, { effect: effect(2), lock })).toBe('duplicate');
    expect(await applyOnceInOneStatement(ds, consumer, second, { effect: effect(3), lock, unless: { sql: `$1::int > 0`, params: [1] } })).toBe('declined');
    expect(await applied()).toEqual([{ n: 1 }]);
    // Declined left no processed-message row: the message is still to be applied.
    expect(await applyOnceInOneStatement(ds, consumer, second, { effect: effect(4), unless: { sql: `$1::int > 0`, params: [0] } })).toBe('applied');
    expect(await applyOnceInOneStatement(ds, consumer, second, { effect: effect(5) })).toBe('duplicate');
    expect(await applied()).toEqual([{ n: 1 }, { n: 4 }]);
  });

  it('parks a message that keeps failing on the dead-letter subject, with the error', async () => {
    const subject = `test${suffix}.thing.poison`;
    const durable = `test-${suffix}-poison`;
    let attempts = 0;
    await consumers.start({
      stream,
      durable,
      filterSubjects: [subject],
      maxDeliver: 3,
      backoffMs: [20],
      handler: async () => {
        attempts++;
        throw new Error('downstream refused it');
      },
    });
    const parked = await publishAndAwaitParked(subject, durable);
    expect(attempts).toBe(3);
    expect(parked).toHaveLength(1);
    expect(parked[0]?.headers['launchpad-error']).toBe('downstream refused it');
    expect(parked[0]?.headers['launchpad-original-subject']).toBe(subject);
  });

  it('parks a malformed envelope at once instead of retrying it', async () => {
    const subject = `test${suffix}.thing.malformed`;
    const durable = `test-${suffix}-malformed`;
    let calls = 0;
    await consumers.start({ stream, durable, filterSubjects: [subject], handler: async () => void calls++ });
    const parked = await publishAndAwaitParked(subject, durable, { hello: 'world' });
    expect(calls).toBe(0);
    expect(parked[0]?.headers['launchpad-error']).toMatch(/not a valid event envelope/);
    expect(parked[0]?.headers['launchpad-deliveries']).toBe('1');
  });

  it('parks a message whose handler says retrying cannot help after one delivery', async () => {
    const subject = `test${suffix}.thing.permanent`;
    const durable = `test-${suffix}-permanent`;
    let attempts = 0;
    await consumers.start({
      stream,
      durable,
      filterSubjects: [subject],
      maxDeliver: 5,
      handler: async () => {
        attempts++;
        throw new PermanentMessageError('refers to a launcher that never existed');
      },
    });
    const parked = await publishAndAwaitParked(subject, durable);
    expect(attempts).toBe(1);
    expect(parked[0]?.headers['launchpad-error']).toBe('refers to a launcher that never existed');
  });
});
