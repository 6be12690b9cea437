import { z } from 'zod';
import { uuidSchema } from '../ids.js';
import { diskStorageGbSchema, envVariableSchema, envVariablesInputSchema } from './env-variables.js';
import { environmentSchema, runSettingsShape } from './environment.js';
import { rowVersionSchema } from './row-version.js';

export const launcherKindSchema = z.enum(['session', 'app']);

const resourceClassIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'must be a resource class id such as "small" or "42"' });

const { image: _image, ...codeRunSettingsShape } = runSettingsShape;

/** A git branch or tag name (git check-ref-format, loosely). */
export const gitRefSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^(?!\/|.*\/\/|.*\.\.|.*\/$|.*\.lock$)[^\s~^:?*[\\]+$/, { message: 'must be a branch name such as "main"' });

/**
 * A launcher names a global environment, brings its own custom one inline, or is made from code:
 * the image the project's CI built for one commit, with the run settings given here. A code
 * launcher is pinned to the newest succeeded build of `ref` (the project's default branch when
 * left out), or to the build of `sha` when given.
 */
export const launcherEnvironmentInputSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('global'), id: uuidSchema }),
  z.strictObject({ kind: z.literal('custom'), name: z.string().trim().min(1).max(100).optional(), ...runSettingsShape }),
  z.strictObject({
    kind: z.literal('code'),
    name: z.string().trim().min(1).max(100).optional(),
    ref: gitRefSchema.optional(),
    sha: z.string().regex(/^[0-9a-f]{7,64}$/, { message: 'must be a commit id: 7 to 64 lowercase hex characters' }).optional(),
    ...codeRunSettingsShape,
  }),
], { error: 'environment.kind must be "global" (with an id), "custom" (with an image and its run settings) or "code" (with its run settings)' });

/**
 * A launcher's own idle and hibernation thresholds, in seconds (0 = never), as a pool's: its
 * sessions ask for them at launch, within their pool's bounds (checked then: the pool is the
 * sessions service's, and a class may move to another pool).
 */
const launcherThresholdS = z.number().int().min(0).max(10 * 365 * 24 * 3600);

export const createLauncherInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  description: z.string().max(5000).optional(),
  kind: launcherKindSchema,
  environment: launcherEnvironmentInputSchema,
  resourceClassId: resourceClassIdSchema.optional(),
  isDefault: z.boolean().optional(),
  envVariables: envVariablesInputSchema.optional(),
  diskStorageGb: diskStorageGbSchema.optional(),
  idleThresholdS: launcherThresholdS.optional(),
  hibernationThresholdS: launcherThresholdS.optional(),
});
export type CreateLauncherInput = z.input<typeof createLauncherInputSchema>;

export const updateLauncherInputSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    description: z.string().max(5000).nullable(),
    environment: launcherEnvironmentInputSchema,
    resourceClassId: resourceClassIdSchema.nullable(),
    isDefault: z.literal(true, { message: 'to move the default mark, set isDefault: true on the new default launcher' }),
    /** The whole list: variables left out are removed; a secret one sent without a value keeps its value. */
    envVariables: envVariablesInputSchema,
    diskStorageGb: diskStorageGbSchema.nullable(),
    idleThresholdS: launcherThresholdS.nullable(),
    hibernationThresholdS: launcherThresholdS.nullable(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'the update is empty: name at least one field to change' });
export type UpdateLauncherInput = z.input<typeof updateLauncherInputSchema>;

/** The launcher shape of environments.launcher.created/updated v1, before launchers made from code. */
export const launcherSchemaV1 = z.object({
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

/** The commit whose image a launcher made from code runs. */
export const launcherPinSchema = z.object({ ref: z.string(), sha: z.string(), image: z.string() });
/** A newer succeeded build of the pinned branch; the launcher stays as it is until a user moves the pin. */
export const launcherUpdateAvailableSchema = z.object({ sha: z.string(), image: z.string(), at: z.iso.datetime({ offset: true }) });

/**
 * A launcher (v2): its environment may be of kind `code`, whose `image` is the pinned build's;
 * `pin` and `updateAvailable` are null for launchers not made from code.
 */
export const launcherSchema = launcherSchemaV1.extend({
  environment: environmentSchema.extend({ kind: z.enum(['global', 'custom', 'code']) }),
  pin: launcherPinSchema.nullable(),
  updateAvailable: launcherUpdateAvailableSchema.nullable(),
  /** Added within v2 (older events have none): secret values are null. */
  envVariables: z.array(envVariableSchema).default([]),
  /** The disk its sessions get unless a launch asks otherwise; null for the class's defaultStorageGb. */
  diskStorageGb: z.number().int().nullable().default(null),
  /** Added within v2: its sessions' idle and hibernation thresholds in seconds (0 = never); null for their pool's. */
  idleThresholdS: z.number().int().nullable().default(null),
  hibernationThresholdS: z.number().int().nullable().default(null),
  /** Added within v2 (see rowVersionSchema); the environment carries its own. */
  version: rowVersionSchema,
});
export type Launcher = z.infer<typeof launcherSchema>;
export type LauncherV1 = z.infer<typeof launcherSchemaV1>;
