import { z } from 'zod';
import { defineRpc } from '../rpc.js';
import { principalSchema } from '../principal.js';
import { projectIdSchema, uuidSchema } from '../ids.js';

/** At most this many bytes (UTF-8) in a secret's value, as Renku's user secrets. */
export const SECRET_VALUE_MAX_BYTES = 5000;

const secretName = z
  .string()
  .trim()
  .min(1)
  .max(99)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, { message: 'a secret name is letters, digits, spaces, ".", "_" and "-", starting with a letter or digit' });
const secretValue = z
  .string()
  .min(1, { message: 'a secret needs a value' })
  .refine((v) => Buffer.byteLength(v, 'utf8') <= SECRET_VALUE_MAX_BYTES, { message: `a secret's value is at most ${SECRET_VALUE_MAX_BYTES} bytes` });
/** `storage` secrets are the credentials of data connectors; `general` ones anything else (Renku's kinds). */
export const secretKindSchema = z.enum(['general', 'storage'], { message: 'kind must be "general" or "storage"' });

export const createUserSecretInputSchema = z.strictObject({ name: secretName, value: secretValue, kind: secretKindSchema.default('general') });
export const updateUserSecretInputSchema = z
  .strictObject({ name: secretName, value: secretValue })
  .partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'the update is empty: give a new name or value' });

/** A user's secret as the API shows it: never its value. */
export const userSecretSchema = z.object({
  id: uuidSchema,
  name: z.string(),
  kind: secretKindSchema,
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type UserSecret = z.infer<typeof userSecretSchema>;

const filename = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(?!\.\.?$)[A-Za-z0-9._-]+$/, { message: 'a filename is letters, digits, ".", "_" and "-" (no "/"), e.g. "api_token"' });

export const createSecretSlotInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(99),
  description: z.string().max(500).optional(),
  filename,
});
export const updateSecretSlotInputSchema = z
  .strictObject({ name: z.string().trim().min(1).max(99), description: z.string().max(500).nullable(), filename })
  .partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'the update is empty: name at least one field to change' });
export const fillSecretSlotInputSchema = z.strictObject({ secretId: uuidSchema });

/** A project's secret slot (Renku's session secret slot); `secretId` is the caller's own fill, if any. */
export const secretSlotSchema = z.object({
  id: uuidSchema,
  projectId: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  filename: z.string(),
  createdBy: z.string(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  secretId: uuidSchema.nullable(),
});
export type SecretSlot = z.infer<typeof secretSlotSchema>;

const caller = { caller: principalSchema };
const ok = z.object({ ok: z.literal(true) });

export const secretsRpc = {
  listUserSecrets: defineRpc('sessions.rpc.user-secret.list', z.object({ ...caller, kind: secretKindSchema.optional() }), z.object({ items: z.array(userSecretSchema) })),
  getUserSecret: defineRpc('sessions.rpc.user-secret.get', z.object({ ...caller, id: uuidSchema }), userSecretSchema),
  createUserSecret: defineRpc('sessions.rpc.user-secret.create', z.object({ ...caller, input: createUserSecretInputSchema }), userSecretSchema),
  updateUserSecret: defineRpc('sessions.rpc.user-secret.update', z.object({ ...caller, id: uuidSchema, input: updateUserSecretInputSchema }), userSecretSchema),
  deleteUserSecret: defineRpc('sessions.rpc.user-secret.delete', z.object({ ...caller, id: uuidSchema }), ok),

  listSlots: defineRpc('sessions.rpc.secret-slot.list', z.object({ ...caller, projectId: projectIdSchema }), z.object({ items: z.array(secretSlotSchema) })),
  createSlot: defineRpc('sessions.rpc.secret-slot.create', z.object({ ...caller, projectId: projectIdSchema, input: createSecretSlotInputSchema }), secretSlotSchema),
  updateSlot: defineRpc(
    'sessions.rpc.secret-slot.update',
    z.object({ ...caller, projectId: projectIdSchema, id: uuidSchema, input: updateSecretSlotInputSchema }),
    secretSlotSchema,
  ),
  deleteSlot: defineRpc('sessions.rpc.secret-slot.delete', z.object({ ...caller, projectId: projectIdSchema, id: uuidSchema }), ok),
  fillSlot: defineRpc(
    'sessions.rpc.secret-slot.fill',
    z.object({ ...caller, projectId: projectIdSchema, id: uuidSchema, input: fillSecretSlotInputSchema }),
    secretSlotSchema,
  ),
  clearSlot: defineRpc('sessions.rpc.secret-slot.clear', z.object({ ...caller, projectId: projectIdSchema, id: uuidSchema }), secretSlotSchema),
};
