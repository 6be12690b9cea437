import { z } from 'zod';
import { uuidSchema } from '../ids.js';
import { environmentSchema, runSettingsShape } from './environment.js';

export const launcherKindSchema = z.enum(['session', 'app']);

const resourceClassIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'must be a resource class id such as "small" or "42"' });

/** A launcher names a global environment, or brings its own custom one inline. */
export const launcherEnvironmentInputSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('global'), id: uuidSchema }),
  z.strictObject({ kind: z.literal('custom'), name: z.string().trim().min(1).max(100).optional(), ...runSettingsShape }),
], { error: 'environment.kind must be "global" (with an id) or "custom" (with an image and its run settings)' });

export const createLauncherInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  description: z.string().max(5000).optional(),
  kind: launcherKindSchema,
  environment: launcherEnvironmentInputSchema,
  resourceClassId: resourceClassIdSchema.optional(),
  isDefault: z.boolean().optional(),
});
export type CreateLauncherInput = z.input<typeof createLauncherInputSchema>;

export const updateLauncherInputSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    description: z.string().max(5000).nullable(),
    environment: launcherEnvironmentInputSchema,
    resourceClassId: resourceClassIdSchema.nullable(),
    isDefault: z.literal(true, { message: 'to move the default mark, set isDefault: true on the new default launcher' }),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'the update is empty: name at least one field to change' });
export type UpdateLauncherInput = z.input<typeof updateLauncherInputSchema>;

export const launcherSchema = z.object({
  id: uuidSchema,
  projectId: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  kind: launcherKindSchema,
  isDefault: z.boolean(),
  resourceClassId: z.string().nullable(),
  environment: environmentSchema,
  createdBy: z.string(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type Launcher = z.infer<typeof launcherSchema>;
