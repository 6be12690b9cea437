import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { Envelope, EventContract, EventData } from '@launchpad/contracts';
import { counter, gauge, injectTraceContext } from '@launchpad/telemetry';
import { type Statement, withPoolClient } from '@launchpad/persistence';
import { DataSource, type EntityManager } from 'typeorm';
import { NATS_CONNECTION } from './nats.js';
import { toNatsHeaders } from './nats-headers.js';

const published = counter('launchpad_outbox_published_total', 'Events the outbox relay published', ['subject']);
const pendingGauge = gauge('launchpad_outbox_pending', 'Events written but not yet published');
const PENDING_COUNT_INTERVAL_MS = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface OutboxRow {
  id: string;
  subject: string;
  /** As text: it is published as it was written. */
  envelope: string;
  headers: Record<string, string>;
}

/** A uuid as Postgres writes one, to go into a statement's text; anything else is refused. */
function uuidLiteral(id: string): string {
  if (!UUID.test(id)) throw new Error(`not a uuid as Postgres writes one: ${JSON.stringify(id)}`);
  return id;
}

/** Builds a validated envelope: a malformed event fails the writer's transaction, not a consumer. */
export function buildEnvelope<C extends EventContract>(contract: C, data: EventData<C>, now = new Date()): Envelope<EventData<C>> {
  return {
    id: randomUUID(),
    type: contract.type,
    version: contract.version,
    occurredAt: now.toISOString(),
    data: contract.data.parse(data) as EventData<C>,
  };
}

@Injectable()
export class OutboxWriter {
  /** Set by the relay so that a commit is published at once rather than at the next poll. */
  onAppended: () => void = () => undefined;

  constructor(private readonly dataSource: DataSource) {}

  /** Runs a use case's transaction, then wakes the relay so that its events leave at once. */
  async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const result = await this.dataSource.transaction(work);
    this.flush();
    return result;
  }

  /**
   * Writes the event into the outbox with the caller's transaction, so the change and its event
   * commit together or not at all. `transaction()` publishes them as soon as it commits.
   */
  async append<C extends EventContract>(manager: EntityManager, contract: C, data: EventData<C>): Promise<Envelope<EventData<C>>> {
    if (!manager.queryRunner?.isTransactionActive) {
      throw new Error(`outbox.append(${contract.type}) must run inside a transaction`);
    }
    const { envelope, statement } = this.appendStatement(contract, data);
    await manager.query(statement.sql, statement.params);
    return envelope;
  }

  /**
   * The INSERT that `append` runs, for a caller that runs it with its own writes in one statement
   * (`runTogether`), inside its transaction. The envelope is validated here, as by `append`.
   */
  appendStatement<C extends EventContract>(contract: C, data: EventData<C>): { envelope: Envelope<EventData<C>>; statement: Statement } {
    const envelope = buildEnvelope(contract, data);
    return {
      envelope,
      statement: {
        sql: `INSERT INTO outbox (id, subject, envelope, headers) VALUES ($1, $2, $3, $4)`,
        params: [envelope.id, contract.type, JSON.stringify(envelope), JSON.stringify(injectTraceContext())],
      },
    };
  }

  flush(): void {
    this.onAppended();
  }
}

export interface OutboxRelayOptions {
  pollIntervalMs: number;
  batchSize: number;
  /** Published rows are kept this long for inspection, then deleted. */
  retentionMs: number;
}

/**
 * Publishes outbox rows in order, each with its envelope id as Nats-Msg-Id so that a row
 * published twice (we crashed between publish and marking it) is dropped by the stream.
 * Replicas share the work through `FOR UPDATE SKIP LOCKED`; no leader is needed.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private js: JetStreamClient | undefined;
  private running = false;
  private wake: (() => void) | undefined;
  private kicked = false;
  private loop: Promise<void> | undefined;
  private lastCleanup = 0;
  private lastPendingCount = 0;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly writer: OutboxWriter,
    @Inject('OUTBOX_RELAY_OPTIONS') private readonly options: OutboxRelayOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.writer.onAppended = () => this.kick();
    this.running = true;
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loop;
  }

  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const count = await this.publishBatch();
        failures = 0;
        if (count === this.options.batchSize) continue;
        await this.maybeCleanup();
      } catch (error) {
        failures++;
        this.logger.warn(`outbox relay could not publish (attempt ${failures}): ${(error as Error).message}`);
      }
      await this.idle(failures > 0 ? Math.min(this.options.pollIntervalMs * 2 ** failures, 10_000) : this.options.pollIntervalMs);
    }
  }

  private idle(ms: number): Promise<void> {
    if (this.kicked) {
      this.kicked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        this.kicked = false;
        done();
      };
    });
  }

  /**
   * Publishes up to one batch; returns how many rows it published. Two round trips to Postgres
   * however many rows (`BEGIN; SELECT ... FOR UPDATE SKIP LOCKED`, then `UPDATE ...; COMMIT`) and
   * the batch's publishes sent at once, their acks awaited together: on this path the relay's CPU
   * went into socket writes, one per statement and one per awaited publish.
   *
   * Order: the publishes leave in the rows' order on one connection, and JetStream stores them in
   * the order it receives them, so the stream holds them in outbox order. When one in the middle
   * fails (a timeout, a stream refusing it) the ones after it were sent already and may have been
   * stored: they are marked published, and the failed row, left pending with its attempt and
   * error, reaches the stream after them when it is retried. Stopping at the failure could not
   * undo that; consumers order by what an event carries (a build's revision), not by arrival.
   */
  async publishBatch(): Promise<number> {
    const limit = this.options.batchSize;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`outbox batchSize must be a positive integer, not ${limit}`);
    const { count, failure } = await withPoolClient(this.dataSource, async (client) => {
      // The simple protocol carries no parameters, and runs several statements in one round trip:
      // the limit is the integer checked above. The envelope stays text, as it is published.
      const [, claim] = (await client.query(
        `BEGIN; SELECT id, subject, envelope::text AS envelope, headers FROM outbox
          WHERE published_at IS NULL ORDER BY position LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
      )) as [unknown, { rows: OutboxRow[] }];
      const rows = claim.rows;
      if (rows.length === 0) {
        await client.query('COMMIT');
        return { count: 0, failure: undefined };
      }
      this.js ??= jetstream(this.nc);
      const js = this.js;
      const outcomes = await Promise.all(
        rows.map((row) =>
          js.publish(row.subject, row.envelope, { msgID: row.id, headers: toNatsHeaders(row.headers) }).then(
            () => undefined,
            (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
          ),
        ),
      );
      const done = rows.filter((_, i) => outcomes[i] === undefined);
      const failed = rows.flatMap((row, i) => {
        const error = outcomes[i];
        return error === undefined ? [] : [{ id: row.id, error: error.message }];
      });
      for (const row of done) published.inc({ subject: row.subject });
      // A gauge scraped every few seconds: counting after every batch was a statement per event.
      const countPending = Date.now() - this.lastPendingCount >= PENDING_COUNT_INTERVAL_MS;
      if (countPending) this.lastPendingCount = Date.now();
      const countSql = countPending ? `SELECT count(*)::int AS pending FROM outbox WHERE published_at IS NULL; ` : '';
      let answered;
      if (failed.length === 0) {
        // The ids are Postgres's own uuids as it just answered them, checked before they are written into the statement.
        const ids = done.map((row) => uuidLiteral(row.id)).join(',');
        answered = await client.query(`UPDATE outbox SET published_at = now() WHERE id = ANY('{${ids}}'::uuid[]); ${countSql}COMMIT`);
      } else {
        // Rare: an error's words are a parameter, so this takes a statement of its own.
        await client.query(
          `WITH p AS (UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])),
                f AS (UPDATE outbox o SET attempts = o.attempts + 1, last_error = e.error FROM unnest($2::uuid[], $3::text[]) AS e(id, error) WHERE o.id = e.id)
           SELECT 1`,
          [done.map((row) => row.id), failed.map((f) => f.id), failed.map((f) => f.error)],
        );
        answered = await client.query(`${countSql}COMMIT`);
      }
      if (countPending) {
        const counted = (Array.isArray(answered) ? answered : [answered]).find((r) => typeof (r.rows[0] as { pending?: unknown } | undefined)?.pending === 'number');
        if (counted) pendingGauge.set((counted.rows[0] as { pending: number }).pending);
      }
      return { count: done.length, failure: failed.length > 0 ? new Error(`${failed.length} of ${rows.length} events not published: ${failed[0]!.error}`) : undefined };
    });
    if (failure) throw failure;
    return count;
  }

  private async maybeCleanup(): Promise<void> {
    if (Date.now() - this.lastCleanup < 60_000) return;
    this.lastCleanup = Date.now();
    await this.dataSource.query(`DELETE FROM outbox WHERE published_at < now() - ($1::bigint * interval '1 millisecond')`, [
      this.options.retentionMs,
    ]);
  }
}
