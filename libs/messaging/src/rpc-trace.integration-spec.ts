import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { defineRpc } from '@launchpad/contracts';
import { spansRecorded, startTracing, stopTracing, tracer } from '@launchpad/telemetry';
import { context, trace } from '@opentelemetry/api';
import { z } from 'zod';
import { startNats, type TestNats, uniqueSuffix } from '../../../tools/testing/harness.js';
import { RpcClient } from './rpc.js';

/** The trace context an RPC request carries, over a real nats-server, with spans not exported (no OTLP endpoint). */
describe('RPC trace context without exported spans', () => {
  const echo = defineRpc(`test${uniqueSuffix()}.rpc.echo`, z.object({}), z.object({ text: z.string() }));
  let nats: TestNats;
  let nc: NatsConnection;
  const received: (string | undefined)[] = [];

  beforeAll(async () => {
    startTracing('rpc-trace-test', {});
    nats = await startNats();
    nc = await connect({ servers: nats.url, ...nats.auth });
    nc.subscribe(echo.subject, {
      callback: (_err, msg) => {
        received.push(msg.headers?.get('traceparent'));
        msg.respond(JSON.stringify({ ok: true, data: { text: 'hi' } }));
      },
    });
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.dispose();
    await stopTracing();
  });

  it('carries the caller’s own span as the parent: same trace, no client span of its own in between', async () => {
    expect(spansRecorded()).toBe(false);
    const client = new RpcClient(nc, 5000);
    const span = tracer().startSpan('caller');
    const answer = await context.with(trace.setSpan(context.active(), span), () => client.call(echo, {}));
    span.end();
    expect(answer).toEqual({ text: 'hi' });
    const { traceId, spanId } = span.spanContext();
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(received).toEqual([`00-${traceId}-${spanId}-00`]);
  });
});
