import { z } from 'zod';
import { parseImageReference } from '../image-reference.js';
import { uuidSchema } from '../ids.js';
import { rowVersionSchema } from './row-version.js';

export const imageReferenceSchema = z.string().max(512).superRefine((value, ctx) => {
  const result = parseImageReference(value);
  if (!result.ok) ctx.addIssue({ code: 'custom', message: `invalid image reference (${result.part}): ${result.message}` });
});

const absolutePath = z.string().max(4096).regex(/^\/[^\0]*$/, { message: 'must be an absolute path starting with "/"' });
const urlPath = z.string().max(2048).regex(/^\/[^\s]*$/, { message: 'must be a URL path starting with "/", e.g. /lab' });
const keyword = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[a-z0-9][a-z0-9+.-]*$/, { message: 'keywords are lowercase words such as "python" or "pytorch"' });
const envVarName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * How the environment's program takes a secret of its own, so that it keeps its own
 * authentication on behind the gateway: `jupyter-token` — the sessions service gives each session a
 * random secret as `JUPYTER_TOKEN` (Jupyter reads it; Notebook 6 and Jupyter Server alike), and the
 * gateway adds `Authorization: token <secret>` to what it proxies, so nothing else that reaches the
 * program's port can use it. `none` — the program has no authentication of its own; it must be
 * reachable only through the gateway (the process runtime cannot make it so: prefer one that does).
 */
export const programAuthSchema = z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('jupyter-token') }), z.strictObject({ kind: z.literal('none') })], {
  error: 'auth.kind must be "jupyter-token" (the program takes a token as JUPYTER_TOKEN) or "none"',
});
export type ProgramAuth = z.infer<typeof programAuthSchema>;

/** How to run an image: shared by global environments and custom ones inside a launcher. */
export const runSettingsShape = {
  image: imageReferenceSchema,
  port: z.number().int().min(1).max(65535),
  defaultUrl: urlPath.default('/'),
  workingDirectory: absolutePath.default('/work'),
  mountDirectory: absolutePath.default('/work'),
  uid: z.number().int().min(0).max(2147483647).default(1000),
  gid: z.number().int().min(0).max(2147483647).default(1000),
  command: z.array(z.string().min(1).max(4096)).max(64).default([]),
  args: z.array(z.string().max(4096)).max(256).default([]),
  env: z
    .record(z.string(), z.string().max(32768))
    .superRefine((vars, ctx) => {
      for (const name of Object.keys(vars)) {
        if (!envVarName.test(name)) {
          ctx.addIssue({ code: 'custom', path: [name], message: `"${name}": environment variable names are letters, digits and "_", not starting with a digit` });
        }
      }
    })
    .default({}),
  auth: programAuthSchema.default({ kind: 'none' }),
};

const nameSchema = z.string().trim().min(1).max(100);
const descriptionSchema = z.string().max(5000);

export const createEnvironmentInputSchema = z.strictObject({
  name: nameSchema,
  description: descriptionSchema.optional(),
  keywords: z.array(keyword).max(20).default([]),
  isDefault: z.boolean().optional(),
  isArchived: z.boolean().default(false),
  ...runSettingsShape,
});
export type CreateEnvironmentInput = z.input<typeof createEnvironmentInputSchema>;

export const updateEnvironmentInputSchema = z
  .strictObject({
    name: nameSchema,
    description: descriptionSchema.nullable(),
    keywords: z.array(keyword).max(20),
    isDefault: z.literal(true, { message: 'to move the default mark, set isDefault: true on the new default' }),
    /** Archived: hidden from new launchers and from the list (unless asked), still run by the launchers that use it. */
    isArchived: z.boolean(),
    image: runSettingsShape.image,
    port: runSettingsShape.port,
    defaultUrl: urlPath,
    workingDirectory: absolutePath,
    mountDirectory: absolutePath,
    uid: runSettingsShape.uid.unwrap(),
    gid: runSettingsShape.gid.unwrap(),
    command: runSettingsShape.command.unwrap(),
    args: runSettingsShape.args.unwrap(),
    env: runSettingsShape.env.unwrap(),
    auth: programAuthSchema,
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'the update is empty: name at least one field to change' });
export type UpdateEnvironmentInput = z.input<typeof updateEnvironmentInputSchema>;

export const environmentSchema = z.object({
  id: uuidSchema,
  kind: z.enum(['global', 'custom']),
  projectId: z.string().nullable(),
  name: z.string(),
  description: z.string().nullable(),
  keywords: z.array(z.string()),
  isDefault: z.boolean(),
  /** Added within v1 (older events have none). */
  isArchived: z.boolean().default(false),
  image: z.string(),
  port: z.number().int(),
  defaultUrl: z.string(),
  workingDirectory: z.string(),
  mountDirectory: z.string(),
  uid: z.number().int(),
  gid: z.number().int(),
  command: z.array(z.string()),
  args: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  /** Events from before it was added have none: the program had no secret of its own. */
  auth: programAuthSchema.default({ kind: 'none' }),
  createdBy: z.string(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  version: rowVersionSchema,
});
export type Environment = z.infer<typeof environmentSchema>;

export const environmentSearchSchema = z.strictObject({
  q: z.string().trim().max(100).optional(),
  keyword: z.string().trim().max(40).optional(),
  includeArchived: z.enum(['true', 'false'], { message: 'includeArchived must be true or false' }).optional(),
});

/** What a runtime needs of an environment to run it, besides its image. */
export type RunSettings = Pick<Environment, 'command' | 'args' | 'env' | 'port' | 'defaultUrl' | 'workingDirectory'>;

export function runSettingsOf(e: RunSettings): RunSettings {
  return { command: e.command, args: e.args, env: e.env, port: e.port, defaultUrl: e.defaultUrl, workingDirectory: e.workingDirectory };
}
