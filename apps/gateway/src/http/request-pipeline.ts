import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { CommonErrorCode, DomainError } from '@launchpad/contracts';
import { requestIdFor, tracer } from '@launchpad/telemetry';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

/** First in the chain: every request gets an id (echoed back) before anything can fail. */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  (req as { id?: string }).id = requestIdFor(req, res);
  next();
}

/** A server span per request, continuing the caller's trace when it sent a traceparent. */
export function traceRequests(req: Request, res: Response, next: NextFunction): void {
  traced(req, res, next);
}

/** The span of traceRequests, for a plain node:http request too (the front door's proxied ones). */
export function traced(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const path = (req.url ?? '').split('?')[0];
  const parent = propagation.extract(context.active(), req.headers);
  const span = tracer().startSpan(`${req.method} ${path}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': path } }, parent);
  res.on('finish', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  context.with(trace.setSpan(parent, span), next);
}

/** A body must be JSON: anything else is refused with 415 rather than read as empty. */
export function requireJsonBodies(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && ['POST', 'PUT', 'PATCH'].includes(req.method) && !req.is(['application/json', 'application/*+json'])) {
    return next(
      new DomainError(
        CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
        `the request body must be JSON with "Content-Type: application/json"; got ${req.headers['content-type'] ?? 'no Content-Type'}`,
      ),
    );
  }
  next();
}
