import type { NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';

/** Every message on a stream under a subject filter, read with an ordered consumer. */
export async function readStream(nc: NatsConnection, stream: string, filter: string): Promise<{ subject: string; data: any; headers: Record<string, string> }[]> {
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.All });
  const out: { subject: string; data: any; headers: Record<string, string> }[] = [];
  for (;;) {
    const msg = await consumer.next({ expires: 1000 });
    if (!msg) break;
    const headers: Record<string, string> = {};
    if (msg.headers) for (const k of msg.headers.keys()) headers[k.toLowerCase()] = msg.headers.get(k);
    out.push({ subject: msg.subject, data: msg.json(), headers });
    if (msg.info.pending === 0) break;
  }
  return out;
}
