import { z } from 'zod';

/** As Renku's launchers: at most 32 variables, POSIX-style names, values up to 500 characters. */
export const MAX_ENV_VARIABLES = 32;
export const ENV_VARIABLE_VALUE_MAX = 500;
export const envVariableNameSchema = z
  .string()
  .max(256)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'a variable name is letters, digits and "_", not starting with a digit' });

/**
 * One variable a launcher sets in its sessions (Renku 2.0's `env_variables` entry, plus `secret`).
 * A secret variable is write-only: stored encrypted, answered with `value: null`; an update may
 * leave out the value of a secret variable it keeps, so that a client can send the list back.
 */
export const envVariableInputSchema = z.strictObject({
  name: envVariableNameSchema,
  value: z.string().max(ENV_VARIABLE_VALUE_MAX, { message: `a value is at most ${ENV_VARIABLE_VALUE_MAX} characters` }).optional(),
  secret: z.boolean().default(false),
});

/** Names the runtime sets itself (see the Runtime's WorkloadSpec); a launcher or a launch cannot set them. */
export const RESERVED_ENV_VARIABLES: readonly string[] = ['PORT', 'LAUNCHPAD_HOST', 'LAUNCHPAD_PORT', 'LAUNCHPAD_BASE_URL', 'LAUNCHPAD_WORK_DIR'];

function uniqueNames<T extends { name: string }>(items: T[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `"${item.name}" appears more than once` });
    if (RESERVED_ENV_VARIABLES.includes(item.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `"${item.name}" is set by the platform itself` });
    seen.add(item.name);
  });
}

export const envVariablesInputSchema = z
  .array(envVariableInputSchema)
  .max(MAX_ENV_VARIABLES, { message: `a launcher sets at most ${MAX_ENV_VARIABLES} variables` })
  .superRefine((items, ctx) => {
    uniqueNames(items, ctx);
    items.forEach((item, index) => {
      if (!item.secret && item.value === undefined) ctx.addIssue({ code: 'custom', path: [index, 'value'], message: `"${item.name}" needs a value` });
    });
  });

/** How a launcher shows a variable: the value of a secret one is never given. */
export const envVariableSchema = z.object({ name: z.string(), value: z.string().nullable(), secret: z.boolean() });
export type EnvVariable = z.infer<typeof envVariableSchema>;

/** Renku 2.0's `env_variable_overrides` of a session launch: replaces (or adds) variables for this session. */
export const envVariableOverridesSchema = z
  .array(z.strictObject({ name: envVariableNameSchema, value: z.string().max(ENV_VARIABLE_VALUE_MAX, { message: `a value is at most ${ENV_VARIABLE_VALUE_MAX} characters` }) }))
  .max(MAX_ENV_VARIABLES, { message: `at most ${MAX_ENV_VARIABLES} overrides` })
  .superRefine(uniqueNames);

/** Disk a launcher or a launch asks for, in GB, within the resource class's maxStorageGb. */
export const diskStorageGbSchema = z.number().int({ message: 'diskStorageGb is a whole number of GB' }).min(1).max(65536);
