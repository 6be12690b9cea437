import { z } from 'zod';
import { uuidSchema } from '../ids.js';

export const APP_STATUSES = ['inactive', 'active', 'failed'] as const;
/**
 * `inactive`: off, nothing runs, the share link answers 404. `active`: reachable through its share
 * link with 0..N replicas. `failed`: active was asked for, but it cannot run (no command, or a
 * replica never became ready); `message` says why, and activating it again retries.
 */
export const appStatusSchema = z.enum(APP_STATUSES);
export type AppStatus = z.infer<typeof appStatusSchema>;

/**
 * Who may open an active app's share link: `public` follows the project (anyone for a public
 * project, any signed-in user for an internal one, members for a private one); `members` is for
 * signed-in project members only, whatever the project's visibility.
 */
export const APP_ACCESS = ['public', 'members'] as const;
export const appAccessSchema = z.enum(APP_ACCESS);
export type AppAccess = z.infer<typeof appAccessSchema>;

/** The most replicas one app may ask for. */
export const APP_MAX_REPLICAS = 50;

/** The settings a first activation starts from; a later activation keeps what it does not name. */
export const APP_DEFAULT_SETTINGS = { minReplicas: 0, maxReplicas: 5, targetConcurrency: 10, access: 'public' } as const;

/** `POST /apps/{launcherId}/activate`: every field optional. */
export const activateAppInputSchema = z
  .strictObject({
    minReplicas: z.number().int().min(0, { message: 'minReplicas must be 0 or more' }).max(APP_MAX_REPLICAS, { message: `minReplicas can be at most ${APP_MAX_REPLICAS}` }),
    maxReplicas: z.number().int().min(1, { message: 'maxReplicas must be at least 1' }).max(APP_MAX_REPLICAS, { message: `maxReplicas can be at most ${APP_MAX_REPLICAS}` }),
    targetConcurrency: z.number().int().min(1, { message: 'targetConcurrency must be at least 1 request per replica' }).max(10_000, { message: 'targetConcurrency can be at most 10000' }),
    access: z.enum(APP_ACCESS, { message: 'access must be "public" or "members"' }),
  })
  .partial()
  .refine((s) => s.minReplicas === undefined || s.maxReplicas === undefined || s.minReplicas <= s.maxReplicas, {
    path: ['minReplicas'],
    message: 'minReplicas cannot be more than maxReplicas',
  });
export type ActivateAppInput = z.input<typeof activateAppInputSchema>;

/**
 * Where the command of an app comes from: its launcher's environment, a Procfile's `web:` line, or
 * (added within v1; the kubernetes runtime only) the image's own entrypoint.
 */
export const appCommandSchema = z.object({
  source: z.enum(['launcher', 'procfile', 'image']),
  /** The repository whose Procfile it is (its directory name), null for a launcher command. */
  repository: z.string().nullable(),
  /** What runs, as a person would write it: the Procfile line, or the command and args joined. */
  line: z.string(),
});
export type AppCommand = z.infer<typeof appCommandSchema>;

export const appReplicaSchema = z.object({
  id: z.string(),
  /** The runtime's phase: preparing, starting, ready, failed or stopped. */
  phase: z.string(),
  startedAt: z.iso.datetime({ offset: true }).nullable(),
  readyAt: z.iso.datetime({ offset: true }).nullable(),
  message: z.string().nullable(),
});

export const appSchema = z.object({
  launcherId: uuidSchema,
  projectId: z.string(),
  name: z.string(),
  status: appStatusSchema,
  /** Why it failed, or what it is doing, in words a person can act on. */
  message: z.string().nullable(),
  /** Stable once given at the first activation: `<project path>-<launcher name>`, made unique. Null before. */
  slug: z.string().nullable(),
  /** The share link's path on the app's own origin (`<slug>.<APPS_DOMAIN>`): `/`; null before the first activation. */
  path: z.string().nullable(),
  access: appAccessSchema,
  minReplicas: z.number().int(),
  maxReplicas: z.number().int(),
  targetConcurrency: z.number().int(),
  desiredReplicas: z.number().int(),
  readyReplicas: z.number().int(),
  replicas: z.array(appReplicaSchema),
  command: appCommandSchema.nullable(),
  lastRequestAt: z.iso.datetime({ offset: true }).nullable(),
  activatedAt: z.iso.datetime({ offset: true }).nullable(),
  activatedBy: z.string().nullable(),
  updatedAt: z.iso.datetime({ offset: true }).nullable(),
});
export type App = z.infer<typeof appSchema>;

/** One line of an app's output, from one of its replicas (`r1`, `r2`, ...). */
export const appLogLineSchema = z.object({ replica: z.string(), text: z.string() });
export type AppLogLine = z.infer<typeof appLogLineSchema>;

/** On a response that waited for the app to wake: `cold-start; waited=<ms>ms`. */
export const APP_ACTIVATION_HEADER = 'x-launchpad-activation';
