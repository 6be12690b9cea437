import { z } from 'zod';
import { defineRpc } from '../rpc.js';
import { principalSchema } from '../principal.js';
import { uuidSchema } from '../ids.js';
import { activateAppInputSchema, appLogLineSchema, appSchema } from './app.js';

const caller = { caller: principalSchema };

export const appsRpc = {
  /** Developer role or above in the launcher's project, or admin. */
  activate: defineRpc('apps.rpc.app.activate', z.object({ ...caller, launcherId: uuidSchema, input: activateAppInputSchema }), appSchema),
  deactivate: defineRpc('apps.rpc.app.deactivate', z.object({ ...caller, launcherId: uuidSchema }), appSchema),
  /** Anyone who can read the project. */
  get: defineRpc('apps.rpc.app.get', z.object({ ...caller, launcherId: uuidSchema }), appSchema),
  /**
   * Output of every replica. Without a cursor: the last `lines` lines of each. With the cursor an
   * earlier call returned: what was written since (for following). Developer role or above, or admin.
   */
  logs: defineRpc(
    'apps.rpc.app.logs',
    z.object({
      ...caller,
      launcherId: uuidSchema,
      lines: z.number().int().min(1).max(5000),
      cursor: z.record(z.string(), z.string()).nullable().default(null),
    }),
    z.object({ lines: z.array(appLogLineSchema), cursor: z.record(z.string(), z.string()) }),
  ),
  /**
   * Follows every replica's output (Runtime.streamLogs): the last `lines` lines of each, then what
   * they write, replicas that start meanwhile joining. Authorised as `logs`; answers at once, then
   * publishes batches to appLogStreamSubject(streamId), on which the caller subscribed first.
   */
  followLogs: defineRpc(
    'apps.rpc.app.logs.follow',
    z.object({ ...caller, launcherId: uuidSchema, lines: z.number().int().min(1).max(5000), streamId: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, { message: 'must be a random id of 22 to 64 base64url characters' }) }),
    z.object({ following: z.literal(true) }),
  ),
} as const;

/**
 * Where the apps service sends the batches of one followed log stream (core NATS, each batch a
 * request the follower acknowledges): only the gateway may subscribe to `apps.logs.>`, only the apps
 * service publish there, and the stream id is random, so nobody else reads the lines. No
 * responder (the follower has gone: its client disconnected) ends the follow.
 */
export const APP_LOG_STREAM_SUBJECT_PREFIX = 'apps.logs';
export const appLogStreamSubject = (streamId: string) => `${APP_LOG_STREAM_SUBJECT_PREFIX}.${streamId}`;
/** A batch of lines, or (with `end`) the last message: why the stream ends. An empty batch is a heartbeat. */
export const appLogBatchSchema = z.object({ lines: z.array(appLogLineSchema), end: z.string().optional() });
export type AppLogBatch = z.infer<typeof appLogBatchSchema>;
