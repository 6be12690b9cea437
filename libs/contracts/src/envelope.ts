import { z } from 'zod';

/**
 * Every event travels in this envelope. `id` is also the `Nats-Msg-Id`, so a re-publish inside the
 * stream's duplicate window is dropped by JetStream, and consumers use it as their idempotency key.
 */
export const envelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().min(1),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  data: z.unknown(),
});
export type Envelope<T = unknown> = Omit<z.infer<typeof envelopeSchema>, 'data'> & { data: T };

export interface EventContract<T extends z.ZodType = z.ZodType> {
  /** Also the NATS subject the event is published on. */
  readonly type: string;
  readonly version: number;
  readonly data: T;
}

/** An event's subject is its type; its shape is pinned by (type, version). */
export function defineEvent<T extends z.ZodType>(type: string, version: number, data: T): EventContract<T> {
  return { type, version, data };
}

export type EventData<C extends EventContract> = z.output<C['data']>;

export function parseEnvelope<C extends EventContract>(contract: C, raw: unknown): Envelope<EventData<C>> {
  const envelope = envelopeSchema.parse(raw);
  if (envelope.type !== contract.type || envelope.version !== contract.version) {
    throw new Error(`expected ${contract.type} v${contract.version}, got ${envelope.type} v${envelope.version}`);
  }
  return { ...envelope, data: contract.data.parse(envelope.data) as EventData<C> };
}
