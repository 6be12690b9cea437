import { z } from 'zod';
import { userIdSchema, uuidSchema } from '../ids.js';

export const resourceClassIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'must be a resource class id such as "small" or "42"' });

const amount = (what: string, max: number) => z.number().min(0, { message: `${what} cannot be negative` }).max(max);

const resourcesShape = {
  cpu: amount('cpu', 1024),
  memoryGb: amount('memoryGb', 16384),
  gpu: z.number().int().min(0).max(64),
};

const classFields = {
  name: z.string().trim().min(1).max(100),
  cpu: amount('cpu', 1024).refine((v) => v > 0, { message: 'a class needs some cpu, e.g. 0.5' }),
  memoryGb: amount('memoryGb', 16384).refine((v) => v > 0, { message: 'a class needs some memory, e.g. 1' }),
  gpu: resourcesShape.gpu,
  /** The disk a session gets unless it asks for another size (Renku's default_storage). */
  diskGb: amount('diskGb', 65536),
  /** The most disk a launcher or launch may ask for (`diskStorageGb`); at least diskGb. Renku's max_storage. */
  maxStorageGb: amount('maxStorageGb', 65536),
  isDefault: z.boolean(),
};

export const resourceClassInputSchema = z.strictObject({
  id: resourceClassIdSchema.optional(),
  ...classFields,
  diskGb: classFields.diskGb.default(10),
  maxStorageGb: classFields.maxStorageGb.optional(),
  isDefault: classFields.isDefault.default(false),
}).refine((c) => c.maxStorageGb === undefined || c.maxStorageGb >= c.diskGb, { message: 'maxStorageGb must be at least diskGb', path: ['maxStorageGb'] });

// Built from the fields without their defaults: an update changes only what it names.
export const updateResourceClassInputSchema = z
  .strictObject(classFields)
  .partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'the update is empty: name at least one field to change' });

export const quotaSchema = z.strictObject(resourcesShape);

/** Seconds; 0 = never. Unset: the sessions service's defaults (SESSION_IDLE_TIMEOUT_MS, SESSION_HIBERNATED_TTL_MS). */
const thresholdS = z.number().int().min(0).max(10 * 365 * 24 * 3600);

const maxSessionsPerUser = z.number().int().min(1, { message: 'at least 1 (to keep users out of a pool, make it private)' }).max(10_000);

export const createResourcePoolInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  /** Idle time after which the pool's sessions are hibernated (the most a launch may ask for); 0 = never. */
  idleThresholdS: thresholdS.optional(),
  /** Time after which the pool's hibernated sessions are deleted; 0 = never. */
  hibernationThresholdS: thresholdS.optional(),
  /** Sessions one user may hold running or starting in this pool at once; unset: SESSIONS_PER_USER_PER_POOL. */
  maxSessionsPerUser: maxSessionsPerUser.optional(),
  public: z.boolean().default(false),
  isDefault: z.boolean().default(false),
  quota: quotaSchema,
  classes: z.array(resourceClassInputSchema).max(50).default([]),
});

export const updateResourcePoolInputSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    public: z.boolean(),
    isDefault: z.literal(true, { message: 'to move the default mark, set isDefault: true on the new default pool' }),
    quota: quotaSchema,
    idleThresholdS: thresholdS.nullable(),
    hibernationThresholdS: thresholdS.nullable(),
    /** null: back to the service's default (SESSIONS_PER_USER_PER_POOL). */
    maxSessionsPerUser: maxSessionsPerUser.nullable(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, { message: 'the update is empty: name at least one field to change' });

export const resourceClassSchema = z.object({
  id: z.string(),
  poolId: uuidSchema,
  name: z.string(),
  cpu: z.number(),
  memoryGb: z.number(),
  gpu: z.number().int(),
  diskGb: z.number(),
  /** The same as diskGb, by Renku's name: the disk a session gets when it asks for no size. */
  defaultStorageGb: z.number(),
  maxStorageGb: z.number(),
  isDefault: z.boolean(),
});
export type ResourceClass = z.infer<typeof resourceClassSchema>;

export const resourcePoolSchema = z.object({
  id: uuidSchema,
  name: z.string(),
  public: z.boolean(),
  isDefault: z.boolean(),
  quota: z.object(resourcesShape),
  /** Added within v1; null: the service's defaults. */
  idleThresholdS: z.number().nullable().optional(),
  hibernationThresholdS: z.number().nullable().optional(),
  /** Added within v1: the pool's own limit (null: the service's default), and the one in force. */
  maxSessionsPerUser: z.number().int().nullable().optional(),
  sessionsPerUserLimit: z.number().int().optional(),
  /** What running and starting sessions use now. */
  used: z.object(resourcesShape),
  classes: z.array(resourceClassSchema),
  /** Who may use a non-public pool; shown to administrators only. */
  users: z.array(userIdSchema).optional(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type ResourcePool = z.infer<typeof resourcePoolSchema>;
