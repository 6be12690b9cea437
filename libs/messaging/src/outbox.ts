import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { Envelope, EventContract, EventData } from '@launchpad/contracts';
import { counter, gauge, injectTraceContext } from '@launchpad/telemetry';
import type { Statement } from '@launchpad/persistence';
import { DataSource, type EntityManager } from 'typeorm';
import { NATS_CONNECTION } from './nats.js';
import { toNatsHeaders } from './nats-headers.js';

const published = counter('launchpad_outbox_published_total', 'Events the outbox relay published', ['subject']);
const pendingGauge = gauge('launchpad_outbox_pending', 'Events written but not yet published');
const PENDING_COUNT_INTERVAL_MS = 1000;

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

  /** Publishes up to one batch; returns how many rows it published. */
  async publishBatch(): Promise<number> {
    let failure: unknown;
    const count = await this.dataSource.transaction(async (manager) => {
      const rows: { id: string; subject: string; envelope: Envelope; headers: Record<string, string> }[] = await manager.query(
        `SELECT id, subject, envelope, headers FROM outbox
          WHERE published_at IS NULL ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.options.batchSize],
      );
      const done: string[] = [];
      for (const row of rows) {
        try {
          this.js ??= jetstream(this.nc);
          await this.js.publish(row.subject, JSON.stringify(row.envelope), { msgID: row.id, headers: toNatsHeaders(row.headers) });
        } catch (error) {
          // Stop here to keep order; what was published so far is still marked below.
          failure = error;
          await manager.query(`UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, [row.id, String((error as Error).message)]);
          break;
        }
        done.push(row.id);
        published.inc({ subject: row.subject });
      }
      if (done.length > 0) await manager.query(`UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])`, [done]);
      // A gauge scraped every few seconds: counting after every batch was a statement per event.
      if (rows.length > 0 && Date.now() - this.lastPendingCount >= PENDING_COUNT_INTERVAL_MS) {
        this.lastPendingCount = Date.now();
        const [{ pending }] = await manager.query(`SELECT count(*)::int AS pending FROM outbox WHERE published_at IS NULL`);
        pendingGauge.set(pending);
      }
      return done.length;
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
