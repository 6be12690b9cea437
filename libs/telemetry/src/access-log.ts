import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type pino from 'pino';
import { accessLogLevel, isProbe, requestIdFor } from './logger.js';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
type LoggedRequest = IncomingMessage & { id?: string; log?: pino.Logger };
type LoggedResponse = ServerResponse & { err?: Error };

/**
 * The logger of one request: what pino-http's `req.log` was (the root's child bound to `req`), but
 * the child is made only when a line is written. pino-http made it for every request, the access
 * line's level enabled or not (its serializers, redaction and stringify: ~5 % of the gateway's CPU
 * per API call at LOG_LEVEL=warn); nestjs-pino hands it to the request's logs through its store.
 */
export class RequestLogger {
  private bound: pino.Logger | undefined;

  constructor(
    private readonly root: pino.Logger,
    private readonly req: LoggedRequest,
  ) {}

  /** The child bound to `req`, as pino-http made it: its serializers give `{ id, method, url }`. */
  get logger(): pino.Logger {
    return (this.bound ??= this.root.child({ req: this.req }));
  }

  get level(): string {
    return this.logger.level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.bound ?? this.root).isLevelEnabled(level);
  }

  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  silent(): void {}

  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): pino.Logger {
    return this.logger.child(bindings, options);
  }
  bindings(): pino.Bindings {
    return this.logger.bindings();
  }
  setBindings(bindings: pino.Bindings): void {
    this.logger.setBindings(bindings);
  }

  private write(level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return;
    (this.logger[level] as (...a: unknown[]) => void)(...args);
  }
}

/**
 * The access log, one line per request as pino-http wrote it (`req` {id, method, url}, `res`
 * {statusCode}, `responseTime`, trace and span ids from the mixin, level by status, probes left
 * out), from the root logger of nestjs-pino (its serializers and redaction), and `req.log` for
 * nestjs-pino's `useExisting` to put in its store; a line whose level is off costs no logger.
 */
export function accessLogMiddleware(root: pino.Logger): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  return (request, response, next) => {
    const req = request as LoggedRequest;
    const res = response as LoggedResponse;
    req.id ||= requestIdFor(req, res);
    const log = new RequestLogger(root, req);
    // pino-http's types give req.log pino.Logger's whole API; nestjs-pino's store uses the level methods, child and setBindings.
    req.log = log as unknown as pino.Logger;
    const started = Date.now();
    const done = (err?: Error): void => {
      res.removeListener('close', done);
      res.removeListener('finish', done);
      res.removeListener('error', done);
      const level = accessLogLevel(res, err);
      if (!log.isLevelEnabled(level)) return;
      const responseTime = Date.now() - started;
      if (err || res.err || res.statusCode >= 500) {
        const error = err || res.err || new Error(`failed with status code ${res.statusCode}`);
        log.logger[level]({ res, err: error, responseTime }, 'request errored');
      } else {
        log.logger[level]({ res, responseTime }, 'request completed');
      }
    };
    // Probes and scrapes every few seconds drown what an operator is looking for (an error still shows).
    if (!isProbe(req)) {
      res.on('close', done);
      res.on('finish', done);
    }
    res.on('error', done);
    next();
  };
}

/** The access log over this service's root logger (nestjs-pino's, made from loggerParams). */
@Injectable()
export class AccessLog {
  readonly middleware: ReturnType<typeof accessLogMiddleware>;

  constructor(pino: PinoLogger) {
    // Outside a request, PinoLogger's logger is the root one.
    this.middleware = accessLogMiddleware(pino.logger);
  }
}
