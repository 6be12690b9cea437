import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { deadLetterSubject, DomainError, envelopeSchema, type Envelope } from '@launchpad/contracts';
import { counter, extractTraceContext, SpanKind, withSpan } from '@launchpad/telemetry';
import { z } from 'zod';
import { NATS_CONNECTION } from './nats.js';
import { fromNatsHeaders, toNatsHeaders } from './nats-headers.js';

const handled = counter('launchpad_consumer_messages_total', 'Messages handled by durable consumers', ['consumer', 'outcome']);

/** A handler throws this when retrying cannot help (the message itself is wrong): it is parked at once. */
export class PermanentMessageError extends Error {}

export interface DurableConsumerOptions {
  stream: string;
  /** `<consumer>-<purpose>`, e.g. `sessions-launchers`. */
  durable: string;
  filterSubjects: string[];
  /** Deliveries before the message is parked on the dead-letter subject. */
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Delay before each redelivery; the last one repeats. */
  backoffMs?: number[];
  handler: (envelope: Envelope, msg: JsMsg) => Promise<void>;
}

/**
 * A durable pull consumer: validates the envelope, runs the handler, acks only after the handler
 * (and so its own commit) succeeded, redelivers with backoff, and after `maxDeliver` attempts
 * parks the message on `deadletter.<stream>.<durable>` with the error in its headers.
 */
@Injectable()
export class DurableConsumers implements OnApplicationShutdown {
  private readonly logger = new Logger(DurableConsumers.name);
  private readonly running: { messages: ConsumerMessages; loop: Promise<void> }[] = [];

  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  async start(options: DurableConsumerOptions): Promise<void> {
    const maxDeliver = options.maxDeliver ?? 5;
    const jsm = await jetstreamManager(this.nc);
    const config = {
      durable_name: options.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      // One subject goes in filter_subject: filter_subjects needs nats-server 2.10 or later.
      ...filterFor(options.filterSubjects),
      max_deliver: maxDeliver,
      ack_wait: (options.ackWaitMs ?? 30_000) * 1_000_000,
    };
    try {
      await jsm.consumers.info(options.stream, options.durable);
      await jsm.consumers.update(options.stream, options.durable, {
        ...filterFor(options.filterSubjects),
        max_deliver: config.max_deliver,
        ack_wait: config.ack_wait,
      });
    } catch (error) {
      if (!/consumer not found/i.test((error as Error).message)) throw error;
      await jsm.consumers.add(options.stream, config);
    }
    const consumer = await jetstream(this.nc).consumers.get(options.stream, options.durable);
    const messages = await consumer.consume({ max_messages: 64 });
    const loop = (async () => {
      for await (const msg of messages) {
        try {
          await this.handle(options, maxDeliver, msg);
        } catch (error) {
          // An ack or nak that fails (the connection is closing or reconnecting) is not ours to
          // crash over: the message was not acknowledged, so JetStream delivers it again.
          this.logger.warn(`${options.durable}: could not settle ${msg.subject} (#${msg.seq}): ${(error as Error).message}; it will be redelivered`);
        }
      }
    })().catch((error: unknown) => this.logger.error(`${options.durable}: consuming stopped: ${(error as Error).message}`));
    this.running.push({ messages, loop });
    this.logger.log(`consuming ${options.filterSubjects.join(', ')} from ${options.stream} as ${options.durable}`);
  }

  private async handle(options: DurableConsumerOptions, maxDeliver: number, msg: JsMsg): Promise<void> {
    const parent = extractTraceContext(fromNatsHeaders(msg.headers));
    await withSpan(`consume ${msg.subject}`, { kind: SpanKind.CONSUMER, parent, attributes: { 'messaging.consumer.group.name': options.durable } }, async () => {
      let envelope: Envelope;
      try {
        envelope = envelopeSchema.parse(msg.json());
      } catch (error) {
        return this.park(options, msg, `not a valid event envelope: ${describe(error)}`);
      }
      try {
        await options.handler(envelope, msg);
        msg.ack();
        handled.inc({ consumer: options.durable, outcome: 'ok' });
      } catch (error) {
        const permanent = error instanceof PermanentMessageError || error instanceof z.ZodError || error instanceof DomainError;
        if (permanent || msg.info.deliveryCount >= maxDeliver) {
          return this.park(options, msg, describe(error));
        }
        const backoff = options.backoffMs ?? [1000, 5000, 15000];
        const delay = backoff[Math.min(msg.info.deliveryCount - 1, backoff.length - 1)] ?? 1000;
        this.logger.warn(
          `${options.durable}: ${msg.subject} ${envelope.id} failed (delivery ${msg.info.deliveryCount}/${maxDeliver}), retrying in ${delay} ms: ${describe(error)}`,
        );
        msg.nak(delay);
        handled.inc({ consumer: options.durable, outcome: 'retry' });
      }
    });
  }

  private async park(options: DurableConsumerOptions, msg: JsMsg, reason: string): Promise<void> {
    const subject = deadLetterSubject(options.stream, options.durable);
    try {
      await jetstream(this.nc).publish(subject, msg.data, {
        msgID: `${options.durable}:${msg.info.streamSequence}`,
        headers: toNatsHeaders({
          ...fromNatsHeaders(msg.headers),
          'launchpad-error': reason.slice(0, 4000),
          'launchpad-original-subject': msg.subject,
          'launchpad-original-sequence': String(msg.info.streamSequence),
          'launchpad-deliveries': String(msg.info.deliveryCount),
        }),
      });
    } catch (error) {
      // Could not park: leave it for redelivery rather than lose it.
      this.logger.error(`${options.durable}: could not park ${msg.subject} #${msg.info.streamSequence}: ${describe(error)}`);
      msg.nak(5000);
      return;
    }
    this.logger.error(`${options.durable}: parked ${msg.subject} #${msg.info.streamSequence} on ${subject}: ${reason}`);
    msg.term(reason.slice(0, 200));
    handled.inc({ consumer: options.durable, outcome: 'parked' });
  }

  async onApplicationShutdown(): Promise<void> {
    for (const { messages } of this.running) await messages.close().catch(() => undefined);
    await Promise.all(this.running.map((r) => r.loop.catch(() => undefined)));
  }
}

function filterFor(subjects: string[]): { filter_subject: string } | { filter_subjects: string[] } {
  return subjects.length === 1 && subjects[0] !== undefined ? { filter_subject: subjects[0] } : { filter_subjects: subjects };
}

function describe(error: unknown): string {
  if (error instanceof z.ZodError) return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  return error instanceof Error ? error.message : String(error);
}
