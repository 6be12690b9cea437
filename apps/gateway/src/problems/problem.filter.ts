import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { CommonErrorCode, DomainError, type ErrorCode, type ErrorDetail } from '@launchpad/contracts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { toProblem } from './problem-details.js';

interface Classified {
  code: ErrorCode;
  message: string;
  details?: ErrorDetail[] | undefined;
}

/** The request as the gateway's front door gives it (a proxied one never passes Express) or as Express does. */
type AnyRequest = IncomingMessage & Partial<Pick<Request, 'path' | 'originalUrl'>>;

const pathOf = (req: AnyRequest) => req.path ?? (req.url ?? '').split('?')[0];

/** What any thrown value means for the caller. Unknown errors become INTERNAL and are logged. */
export function classify(error: unknown, req: AnyRequest, logger: Logger): Classified {
  if (error instanceof DomainError) return { code: error.code, message: error.message, details: error.details };
  const e = error as { type?: string; status?: number; message?: string; limit?: number };
  // body-parser's errors: they carry a type and a status
  if (e?.type === 'entity.parse.failed') {
    return { code: CommonErrorCode.VALIDATION_FAILED, message: `the request body is not valid JSON: ${e.message}` };
  }
  if (e?.type === 'entity.too.large') {
    return { code: CommonErrorCode.PAYLOAD_TOO_LARGE, message: `the request body is larger than the ${e.limit} bytes allowed` };
  }
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return { code: CommonErrorCode.UNSUPPORTED_MEDIA_TYPE, message: `the request body's encoding is not supported: ${e.message}` };
  }
  if (e?.type === 'request.aborted' || e?.type === 'request.size.invalid') {
    return { code: CommonErrorCode.VALIDATION_FAILED, message: 'the request body was incomplete' };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status === 404) return { code: CommonErrorCode.ROUTE_NOT_FOUND, message: `no route ${req.method} ${pathOf(req)}; see /api/docs for the API` };
    if (status === 405) return { code: CommonErrorCode.METHOD_NOT_ALLOWED, message: `${req.method} is not allowed on ${pathOf(req)}` };
    if (status === 413) return { code: CommonErrorCode.PAYLOAD_TOO_LARGE, message: error.message };
    if (status < 500) return { code: CommonErrorCode.VALIDATION_FAILED, message: error.message };
  }
  if (e?.status !== undefined && e.status >= 400 && e.status < 500) {
    return { code: CommonErrorCode.VALIDATION_FAILED, message: e.message ?? 'the request could not be read' };
  }
  logger.error({ err: error }, `unexpected error on ${req.method} ${pathOf(req)}`);
  return { code: CommonErrorCode.INTERNAL, message: 'an unexpected error occurred; it has been logged with the request id' };
}

/** Plain node:http, so that it serves Express's responses and the front door's alike. */
export function sendProblem(error: unknown, req: AnyRequest, res: ServerResponse, logger: Logger): void {
  const classified = classify(error, req, logger);
  const requestId = String((req as { id?: unknown }).id ?? res.getHeader('X-Request-Id') ?? '');
  const problem = toProblem({ ...classified, instance: withoutToken(req.originalUrl ?? req.url ?? ''), requestId });
  if (problem.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="launchpad"');
  if (problem.status === 503) res.setHeader('Retry-After', '5');
  // Too many streams: one of the user's others may have ended by then.
  if (problem.status === 429) res.setHeader('Retry-After', '10');
  const body = JSON.stringify(problem);
  res.statusCode = problem.status;
  res.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** The request's path and query as `instance`, without a `?token=` it may carry: problems are logged and shown. */
export function withoutToken(url: string): string {
  if (!/[?&]token=/i.test(url)) return url;
  const parsed = new URL(url, 'http://gateway');
  for (const key of [...parsed.searchParams.keys()]) if (key.toLowerCase() === 'token') parsed.searchParams.delete(key);
  const query = parsed.searchParams.toString();
  return `${url.split('?')[0]}${query ? `?${query}` : ''}`;
}

/** Every error that reaches Nest leaves as problem+json. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Problems');

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendProblem(error, http.getRequest<Request>(), http.getResponse<Response>(), this.logger);
  }
}

/** For errors raised by Express middleware before Nest sees the request (body parsing). */
export function problemErrorMiddleware(logger = new Logger('Problems')) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(error);
    sendProblem(error, req, res, logger);
  };
}
