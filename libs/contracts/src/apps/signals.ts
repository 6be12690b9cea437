import { z } from 'zod';
import { uuidSchema } from '../ids.js';
import { appAccessSchema, appStatusSchema } from './app.js';

/*
 * Signals between the replicas of the apps service, on core NATS (not a stream): each is
 * fire-and-forget, and a lost one is made good by the next (a report every second, a route
 * table read from the database on a timer).
 */

/**
 * An activator holds requests for an app with no ready replica: the scaler's leader should start
 * `replicas` of it at once (ceil of the requests `waiting` over what one replica takes), sent again
 * as the count grows. Both absent from older activators: one replica, as before.
 */
export const APP_WAKE_SUBJECT = 'apps.signal.wake';
export const appWakeSchema = z.object({
  appId: uuidSchema,
  activator: z.string(),
  at: z.iso.datetime({ offset: true }),
  waiting: z.number().int().min(0).default(1),
  replicas: z.number().int().min(1).default(1),
});
export type AppWake = z.infer<typeof appWakeSchema>;

/**
 * Every activator, about once a second: per app, its average concurrency over the interval
 * (requests in flight plus queued, time-weighted), the concurrency now, and the last request;
 * and per replica endpoint, the requests it has in flight there (so that a draining replica is
 * stopped once nobody uses it).
 */
export const APP_CONCURRENCY_SUBJECT = 'apps.signal.concurrency';
export const appConcurrencyReportSchema = z.object({
  activator: z.string(),
  at: z.iso.datetime({ offset: true }),
  apps: z.array(
    z.object({
      appId: uuidSchema,
      average: z.number().min(0),
      current: z.number().int().min(0),
      queued: z.number().int().min(0),
      requests: z.number().int().min(0),
      lastRequestAt: z.iso.datetime({ offset: true }).nullable(),
    }),
  ),
  /** Requests in flight per replica endpoint (those with any); absent from older activators. */
  outstanding: z.record(z.string(), z.number().int().min(0)).optional(),
});
export type AppConcurrencyReport = z.infer<typeof appConcurrencyReportSchema>;

/**
 * How to route an app's traffic, broadcast whenever it changes (activation, a replica ready or
 * gone, deactivation); `version` only grows, so a stale copy never replaces a newer one.
 */
export const APP_ROUTE_SUBJECT = 'apps.signal.route';
export const appRouteSchema = z.object({
  appId: uuidSchema,
  version: z.number().int(),
  slug: z.string(),
  projectId: z.string(),
  /** The project's visibility as the apps service last heard it (`private` when it never did). */
  visibility: z.enum(['private', 'internal', 'public']),
  status: appStatusSchema,
  access: appAccessSchema,
  /** Ready replicas, e.g. `http://127.0.0.1:41234`. */
  endpoints: z.array(z.string()),
  /** Serve the app at its root: the activator removes `/a/<slug>` from the path (Procfile apps). */
  stripPrefix: z.boolean(),
  /**
   * Requests one replica takes at once from one activator (the app's containerConcurrency, or its
   * target when unset); the rest wait in the activator. Null (older publishers): no limit.
   */
  capacity: z.number().int().min(1).nullable().default(null),
  /** `deleted`: the app is gone (its launcher was deleted). */
  deleted: z.boolean().default(false),
});
export type AppRoute = z.infer<typeof appRouteSchema>;
