import { z } from 'zod';
import { defineRpc } from '../rpc.js';
import { principalSchema } from '../principal.js';
import { projectIdSchema, uuidSchema } from '../ids.js';

const optionNameSyntax = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, { message: 'an rclone option name is lowercase letters, digits and "_", e.g. "url" or "access_key_id"' });

/**
 * rclone runs as root (it mounts with FUSE), in the session's group, which keeps it off the
 * platform's ports but not off this machine's files, so a connector must not ask it for anything
 * of this machine: backends on its own disk, or wrapping another remote (which may be
 * a local path or an on-the-fly ":local:" or ":webdav,bearer_token_command=...:" remote), and
 * options that run a program (bearer_token_command, sftp's ssh and *_command), read a local file
 * (key_file, service_account_file, ...) or lend the service's own cloud identity (env_auth,
 * use_msi). Checked where connectors and credentials are written, and again before rclone runs.
 */
const LOCAL_BACKENDS = new Set(['local', 'alias', 'cache', 'chunker', 'combine', 'compress', 'crypt', 'hasher', 'union']);
const LOCAL_OPTION = /^(ssh|env_auth|use_msi|msi_.*|.*_command|.*_file)$/;

export function storageTypeProblem(storageType: string): string | null {
  return LOCAL_BACKENDS.has(storageType) ? `rclone backend "${storageType}" reads this machine's files or wraps another remote: use a remote storage such as "s3", "webdav" or "sftp"` : null;
}

export function storageOptionProblem(option: string): string | null {
  return LOCAL_OPTION.test(option) ? `rclone option "${option}" would run a program, read a file or use the credentials of the machine that mounts the storage` : null;
}

/** Every reason rclone must not be given this storage, as API problems; empty when it may. */
export function storageProblems(storageType: string, configuration: Record<string, string>): { path: string; message: string }[] {
  const typeProblem = storageTypeProblem(storageType);
  return [
    ...(typeProblem ? [{ path: 'storageType', message: typeProblem }] : []),
    ...Object.keys(configuration).flatMap((option) => {
      const problem = storageOptionProblem(option);
      return problem ? [{ path: `configuration.${option}`, message: problem }] : [];
    }),
  ];
}

/** A schema's issue from one of the problem functions above. */
const refused = (problem: (value: string) => string | null) => (value: string, ctx: z.RefinementCtx) => {
  const message = problem(value);
  if (message) ctx.addIssue({ code: 'custom', message });
};
const optionName = optionNameSyntax.superRefine(refused(storageOptionProblem));
/** rclone's options for the storage (e.g. webdav: url, vendor, user); credentials come from the user's storage secrets. */
const configuration = z.record(optionName, z.string().max(2000)).refine((c) => Object.keys(c).length <= 50, { message: 'at most 50 options' });
const storageType = z
  .string()
  .regex(/^[a-z][a-z0-9]{1,31}$/, { message: 'storageType is an rclone backend such as "s3", "webdav" or "sftp"' })
  .superRefine(refused(storageTypeProblem));
const sourcePath = z.string().max(1024).regex(/^[^\0\n]*$/, { message: 'sourcePath is a path in the storage, e.g. "bucket/data"' });
/** A directory name under /work (beside the repositories), Renku's target_path. */
const targetPath = z
  .string()
  .min(1)
  .max(100)
  .regex(/^(?!\.\.?$)[A-Za-z0-9._-]+$/, { message: 'targetPath is one directory name under /work, e.g. "data" (letters, digits, ".", "_", "-")' });

export const createDataConnectorInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(99),
  storageType,
  configuration: configuration.default({}),
  sourcePath: sourcePath.default(''),
  targetPath,
  readonly: z.boolean().default(true),
});
export const updateDataConnectorInputSchema = z
  .strictObject({ name: z.string().trim().min(1).max(99), storageType, configuration, sourcePath, targetPath, readonly: z.boolean() })
  .partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'the update is empty: name at least one field to change' });
/** Which of the caller's `storage` secrets gives which rclone option (e.g. {"pass": "<secret id>"}), for the caller's own sessions. */
const credentialSecrets = z.record(optionName, uuidSchema).refine((c) => Object.keys(c).length <= 10, { message: 'at most 10 credentials' });
export const dataConnectorCredentialsInputSchema = z.strictObject({ secrets: credentialSecrets });

/**
 * A user's own connector, mounted into every session of theirs in any project: a project
 * connector's fields, and its credentials (only its owner ever uses it) given with it.
 */
export const createUserDataConnectorInputSchema = createDataConnectorInputSchema.extend({ credentials: credentialSecrets.default({}) });
export const updateUserDataConnectorInputSchema = z
  .strictObject({ name: z.string().trim().min(1).max(99), storageType, configuration, sourcePath, targetPath, readonly: z.boolean(), credentials: credentialSecrets })
  .partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'the update is empty: name at least one field to change' });

export const dataConnectorSchema = z.object({
  id: uuidSchema,
  projectId: z.string(),
  name: z.string(),
  storageType: z.string(),
  configuration: z.record(z.string(), z.string()),
  sourcePath: z.string(),
  targetPath: z.string(),
  readonly: z.boolean(),
  createdBy: z.string(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  /** The caller's own credentials for it: option name → their storage secret's id. */
  credentials: z.record(z.string(), uuidSchema),
});
export type DataConnector = z.infer<typeof dataConnectorSchema>;
/** A user's own connector: owned by `userId` (the only one who sees it), instead of a project. */
export const userDataConnectorSchema = dataConnectorSchema.omit({ projectId: true }).extend({ userId: z.string() });
export type UserDataConnector = z.infer<typeof userDataConnectorSchema>;

/** Renku's `data_connectors_overrides` of a launch: skip a connector, or mount it otherwise, for this session. */
export const dataConnectorsOverridesSchema = z
  .array(z.strictObject({ dataConnectorId: uuidSchema, skip: z.boolean().optional(), sourcePath: sourcePath.optional(), targetPath: targetPath.optional(), readonly: z.boolean().optional() }))
  .max(50);

const caller = { caller: principalSchema };
const ok = z.object({ ok: z.literal(true) });
const where = { ...caller, projectId: projectIdSchema };

export const dataConnectorsRpc = {
  list: defineRpc('sessions.rpc.data-connector.list', z.object(where), z.object({ items: z.array(dataConnectorSchema) })),
  create: defineRpc('sessions.rpc.data-connector.create', z.object({ ...where, input: createDataConnectorInputSchema }), dataConnectorSchema),
  update: defineRpc('sessions.rpc.data-connector.update', z.object({ ...where, id: uuidSchema, input: updateDataConnectorInputSchema }), dataConnectorSchema),
  delete: defineRpc('sessions.rpc.data-connector.delete', z.object({ ...where, id: uuidSchema }), ok),
  setCredentials: defineRpc(
    'sessions.rpc.data-connector.credentials',
    z.object({ ...where, id: uuidSchema, input: dataConnectorCredentialsInputSchema }),
    dataConnectorSchema,
  ),
  listOwn: defineRpc('sessions.rpc.user-data-connector.list', z.object(caller), z.object({ items: z.array(userDataConnectorSchema) })),
  getOwn: defineRpc('sessions.rpc.user-data-connector.get', z.object({ ...caller, id: uuidSchema }), userDataConnectorSchema),
  createOwn: defineRpc('sessions.rpc.user-data-connector.create', z.object({ ...caller, input: createUserDataConnectorInputSchema }), userDataConnectorSchema),
  updateOwn: defineRpc('sessions.rpc.user-data-connector.update', z.object({ ...caller, id: uuidSchema, input: updateUserDataConnectorInputSchema }), userDataConnectorSchema),
  deleteOwn: defineRpc('sessions.rpc.user-data-connector.delete', z.object({ ...caller, id: uuidSchema }), ok),
};
