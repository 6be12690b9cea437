import type { IncomingMessage } from 'node:http';
import type { Logger } from '@nestjs/common';
import { APP_ACTIVATION_HEADER, type AppRoute } from '@launchpad/contracts';
import { counter } from '@launchpad/telemetry';
import type { HttpForwarder, ResponseHeaders } from '@launchpad/proxying';
import type { ProxyServer } from 'http-proxy-3';
import { QueueFullError, WakeTimeoutError } from './activation-queue.js';
import type { Admission } from './admission.js';
import { PageError } from './answers.js';
import type { ConcurrencyMeter } from './concurrency-meter.js';
import { APP_UNAVAILABLE, type Page } from './pages.js';
import type { RouteTable } from './route-table.js';
import type { Throttler } from './throttler.js';

export const requests = counter('launchpad_activator_requests_total', 'Requests the activator answered or forwarded', ['kind', 'outcome']);

/** What the proxy's response hook needs of a forwarded request. */
export interface Forwarding {
  waitedMs: number | null;
  prefix: string | null;
}

/** The steps every request goes through, shared by the HTTP and the WebSocket handler. */
export interface Chain {
  admission: Admission;
  throttler: Throttler;
  meter: ConcurrencyMeter;
  table: RouteTable;
  /** HTTP to the replicas (undici's pool); `proxy` (http-proxy-3) carries WebSockets. */
  forwarder: HttpForwarder;
  proxy: ProxyServer;
  forwarding: WeakMap<IncomingMessage, Forwarding>;
  logger: Logger;
}

/** What a forwarded request's response headers get: the cold start it waited for, and its redirects kept under a prefix. */
export function rewriteResponseHeaders(forwarding: Forwarding | undefined, headers: ResponseHeaders): void {
  if (!forwarding) return;
  if (forwarding.waitedMs !== null) headers[APP_ACTIVATION_HEADER] = `cold-start; waited=${forwarding.waitedMs}ms`;
  // An app served at its root redirects to its own paths: keep them under the share link.
  const location = headers.location;
  if (forwarding.prefix && typeof location === 'string' && location.startsWith('/') && !location.startsWith('//')) {
    headers.location = `${forwarding.prefix}${location}`;
  }
}

/** The page for a request that found no replica. */
export function refusal(chain: Chain, error: unknown, route: AppRoute): Page {
  if (error instanceof PageError) return error.page(route.slug);
  if (error instanceof QueueFullError) return APP_UNAVAILABLE(route.slug, `${error.limit} requests are already waiting for it`, 5);
  if (error instanceof WakeTimeoutError) {
    const seconds = Math.round(error.timeoutMs / 1000);
    const busy = chain.table.endpoints(route.appId).length > 0;
    return APP_UNAVAILABLE(route.slug, busy ? `it is busy: no replica had room for the request within ${seconds} s` : `it did not start within ${seconds} s`, 10);
  }
  chain.logger.error({ err: error }, `could not find a replica of app ${route.slug}: ${(error as Error).message}`);
  return APP_UNAVAILABLE(route.slug, 'something went wrong in the activator', 1);
}
