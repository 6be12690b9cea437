import { context, propagation, trace, type Context, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

let provider: NodeTracerProvider | undefined;
let recording = false;

/**
 * Starts tracing for this process. Spans are always created (so trace ids reach the logs and ride
 * in NATS headers); they are recorded and exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 * Without an exporter they are non-recording (AlwaysOffSampler): the same ids and propagation, but
 * no attributes, events or timings kept for nobody (about 3 % of the gateway's CPU per API call).
 */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): void {
  if (provider) return;
  const spanProcessors: SpanProcessor[] = [];
  const exporting = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (exporting) spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  recording = exporting;
  provider = new NodeTracerProvider({
    ...(exporting ? {} : { sampler: new AlwaysOffSampler() }),
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? serviceName }),
    spanProcessors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
}

export async function stopTracing(): Promise<void> {
  await provider?.shutdown();
  provider = undefined;
  recording = false;
}

/** Whether spans are recorded and exported (OTEL_EXPORTER_OTLP_ENDPOINT); without, they only carry ids. */
export function spansRecorded(): boolean {
  return recording;
}

export const tracer = () => trace.getTracer('launchpad');

/** Carries trace context in any string map: NATS headers (via adapters), outbox rows, HTTP headers. */
export function injectTraceContext(carrier: Record<string, string> = {}, ctx: Context = context.active()): Record<string, string> {
  propagation.inject(ctx, carrier);
  return carrier;
}

export function extractTraceContext(carrier: Record<string, string | undefined>): Context {
  return propagation.extract(context.active(), carrier);
}

/** Runs fn inside a span, recording a thrown error on it. */
export async function withSpan<T>(
  name: string,
  options: { kind?: SpanKind; parent?: Context; attributes?: Record<string, string | number | boolean> },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer().startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };
