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
} as const;
