import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { uuidSchema } from '../ids.js';
import { appAccessSchema } from './app.js';

const appRef = { launcherId: uuidSchema, projectId: z.string(), slug: z.string() };

/** Someone activated the app (or activated it again with new settings). */
export const appActivatedV1 = defineEvent(
  'apps.app.activated',
  1,
  z.object({
    ...appRef,
    access: appAccessSchema,
    minReplicas: z.number().int(),
    maxReplicas: z.number().int(),
    targetConcurrency: z.number().int(),
    activatedBy: z.string(),
  }),
);

/** The app is off: by a person, or because its launcher was deleted (`reason` says which). */
export const appDeactivatedV1 = defineEvent('apps.app.deactivated', 1, z.object({ ...appRef, reason: z.string() }));

/** The scaler changed how many replicas the app should have. */
export const appScaledV1 = defineEvent(
  'apps.app.scaled',
  1,
  z.object({
    ...appRef,
    from: z.number().int(),
    to: z.number().int(),
    /** Concurrent requests the scaler saw (in flight and queued, over its window). */
    observedConcurrency: z.number(),
    reason: z.string(),
  }),
);

/** The app cannot run: no command to run, or a replica that never became ready (with its last output). */
export const appFailedV1 = defineEvent('apps.app.failed', 1, z.object({ ...appRef, message: z.string() }));
