import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import type { Params } from 'nestjs-pino';
import pino from 'pino';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Trace and span ids in every line, so a log line leads to its trace. */
function traceMixin(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-gitlab-token"]',
  'res.headers["set-cookie"]',
];

/** A caller's X-Request-Id is kept when it is sane; otherwise we mint one. Echoed in the response. */
export function requestIdFor(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** The access line's level: error for a failure or a 5xx, warn for a 4xx, info otherwise. */
export function accessLogLevel(res: { statusCode: number }, error?: unknown): 'error' | 'warn' | 'info' {
  return error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
}

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** Probes and scrapes every few seconds drown what an operator is looking for: they are not access-logged. */
export function isProbe(req: { url?: string | undefined }): boolean {
  return PROBES.has(req.url ?? '');
}

/**
 * nestjs-pino's parameters. `ownAccessLog`: the service mounts AccessLog's middleware itself (the
 * gateway, first in its chain), and nestjs-pino only keeps `req.log` in its store (`useExisting`);
 * the root logger is made from the same pino-http options either way.
 */
export function loggerParams(service: string, level: string, ownAccessLog = false): Params {
  return {
    ...(ownAccessLog ? { useExisting: true as const } : {}),
    pinoHttp: {
      name: service,
      level,
      mixin: traceMixin,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      genReqId: (req, res) => (req as { id?: string }).id ?? requestIdFor(req, res),
      customLogLevel: (_req, res, error) => accessLogLevel(res, error),
      autoLogging: { ignore: isProbe },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}

/** For code that runs outside Nest (CLI tools, start-up failures). */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): pino.Logger {
  return pino({ name: service, level, mixin: traceMixin });
}

/** The pino-shaped logger libraries take (`info(obj, msg)`), writing through Nest's logger under `context`. */
export function structuredLogger(context: string): {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
} {
  const logger = new Logger(context);
  return {
    info: (obj, msg) => logger.log({ ...obj }, msg),
    warn: (obj, msg) => logger.warn({ ...obj }, msg),
    error: (obj, msg) => logger.error({ ...obj }, msg),
  };
}
