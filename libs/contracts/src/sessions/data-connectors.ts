import { z } from 'zod';
import { defineRpc } from '../rpc.js';
import { principalSchema } from '../principal.js';
import { projectIdSchema, uuidSchema } from '../ids.js';

const optionName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, { message: 'an rclone option name is lowercase letters, digits and "_", e.g. "url" or "access_key_id"' });
/** rclone's options for the storage (e.g. webdav: url, vendor, user); credentials come from the user's storage secrets. */
const configuration = z.record(optionName, z.string().max(2000)).refine((c) => Object.keys(c).length <= 50, { message: 'at most 50 options' });
const storageType = z.string().regex(/^[a-z][a-z0-9]{1,31}$/, { message: 'storageType is an rclone backend such as "s3", "webdav" or "sftp"' });
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
export const dataConnectorCredentialsInputSchema = z.strictObject({
  secrets: z.record(optionName, uuidSchema).refine((c) => Object.keys(c).length <= 10, { message: 'at most 10 credentials' }),
});

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
};
