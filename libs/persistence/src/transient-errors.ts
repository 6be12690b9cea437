import { Injectable, Logger } from '@nestjs/common';
import { isConnectionError } from './data-source.js';

/**
 * Postgres errors that say "this transaction lost a race, run it again" rather than "it is
 * wrong": a deadlock (40P01) or a serialization failure (40001). Postgres rolled the
 * transaction back, so running the whole of it again is safe and usually succeeds.
 */
const RETRYABLE_SQL_STATES = new Set(['40P01', '40001']);

/**
 * Besides the retryable ones: states that pass with time rather than with another request body
 * (lock or statement timeouts, too many connections, the server shutting down): worth a 503
 * with Retry-After, never a 500.
 */
const TRANSIENT_SQL_STATES = new Set([...RETRYABLE_SQL_STATES, '55P03', '57014', '53300', '53400']);

/** The SQLSTATE of a Postgres error (as TypeORM's QueryFailedError or pg's own), if it is one. */
export function sqlStateOf(error: unknown): string | undefined {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** A deadlock or serialization failure: the transaction may simply run again. */
export function isRetryableTransactionError(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state !== undefined && RETRYABLE_SQL_STATES.has(state);
}

/** An error that passes with time (the database busy, racing or unreachable): answer 503, not 500. */
export function isTransientDatabaseError(error: unknown): boolean {
  const state = sqlStateOf(error);
  return (state !== undefined && TRANSIENT_SQL_STATES.has(state)) || isConnectionError(error);
}

export interface RetryOptions {
  /** Runs in all, the first included. */
  attempts: number;
  /** Delay before the n-th retry (1-based): jittered so that two losers of one race do not meet again. */
  delayMs(retry: number): number;
  sleep(ms: number): Promise<void>;
  onRetry(what: string, error: unknown, retry: number, delayMs: number): void;
}

const logger = new Logger('TransientRetry');

export const DEFAULT_RETRY: RetryOptions = {
  attempts: 5,
  delayMs: (retry) => Math.round(Math.random() * 20 * 2 ** retry),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  onRetry: (what, error, retry, delayMs) =>
    logger.warn(`${what}: ${(error as Error).message} (SQL state ${sqlStateOf(error) ?? '?'}); running it again in ${delayMs} ms (retry ${retry})`),
};

/**
 * Runs `work` (a whole transaction: nothing outside the database may happen in it) and runs it
 * again, a bounded number of times, while it fails with a deadlock or serialization failure.
 * Anything else, or the last failure, is thrown as it is.
 */
export async function retryTransient<T>(what: string, work: () => Promise<T>, options: Partial<RetryOptions> = {}): Promise<T> {
  const o = { ...DEFAULT_RETRY, ...options };
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= o.attempts || !isRetryableTransactionError(error)) throw error;
      const delay = o.delayMs(attempt);
      o.onRetry(what, error, attempt, delay);
      await o.sleep(delay);
    }
  }
}

/** retryTransient as an injectable, so that a use case's unit test can swap its sleep and its log. */
@Injectable()
export class TransientRetry {
  options: Partial<RetryOptions> = {};

  run<T>(what: string, work: () => Promise<T>): Promise<T> {
    return retryTransient(what, work, this.options);
  }
}
