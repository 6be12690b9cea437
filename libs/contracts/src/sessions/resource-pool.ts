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

/** A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters (Kubernetes' qualified name). */
const labelKeySchema = z
  .string()
  .max(317)
  .regex(/^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, { message: 'must be a label key such as "nvidia.com/gpu.product" or "pool"' });
/** A label value: empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit. */
const labelValueSchema = z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, { message: 'must be a label value: at most 63 letters, digits, "-", "_" or "."' });

/** Which nodes a class's sessions may run on (the pod's nodeSelector): every label must match. */
export const nodeSelectorSchema = z.record(z.string(), labelValueSchema).superRefine((labels, ctx) => {
  const keys = Object.keys(labels);
  if (keys.length > 20) ctx.addIssue({ code: 'custom', message: 'at most 20 labels' });
  for (const key of keys) {
    // Checked here rather than as the record's key schema, so that the message names the key.
    if (!labelKeySchema.safeParse(key).success) ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" must be a label key such as "nvidia.com/gpu.product" or "pool"` });
  }
});

/** A toleration of the pod spec: lets the class's sessions onto nodes with a matching taint (e.g. GPU nodes). */
export const tolerationSchema = z
  .strictObject({
    key: labelKeySchema.optional(),
    operator: z.enum(['Equal', 'Exists']).default('Equal'),
    value: labelValueSchema.optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
    tolerationSeconds: z.number().int().min(0).optional(),
  })
  .superRefine((t, ctx) => {
    if (t.operator === 'Exists' && t.value !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: 'a toleration with operator "Exists" takes no value' });
    if (t.operator === 'Equal' && t.key === undefined) ctx.addIssue({ code: 'custom', path: ['key'], message: 'a toleration with operator "Equal" needs a key' });
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') ctx.addIssue({ code: 'custom', path: ['tolerationSeconds'], message: 'only a "NoExecute" toleration has tolerationSeconds' });
  });
export type ResourceClassToleration = z.infer<typeof tolerationSchema>;

/** The extended resource a class's `gpu` counts, e.g. "nvidia.com/gpu" (the default) or "amd.com/gpu". */
const gpuResourceNameSchema = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, { message: 'must be an extended resource name such as "nvidia.com/gpu" or "amd.com/gpu"' });

const storageClassNameSchema = z.string().max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: 'must be a StorageClass name such as "fast-ssd"' });

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
  /** Cluster placement (the kubernetes runtime; the process runtime ignores it). Null: `nvidia.com/gpu`. */
  gpuResourceName: gpuResourceNameSchema.nullable(),
  nodeSelector: nodeSelectorSchema,
  tolerations: z.array(tolerationSchema).max(20),
  /** Limits (what a session may use at most); cpu, memoryGb and gpu are requests. Null: cpu unlimited, memory = its request. */
  cpuLimit: amount('cpuLimit', 1024).refine((v) => v > 0, { message: 'a cpu limit must be more than 0' }).nullable(),
  memoryLimitGb: amount('memoryLimitGb', 16384).refine((v) => v > 0, { message: 'a memory limit must be more than 0' }).nullable(),
  /** The StorageClass of its sessions' work volumes; null: the service's KUBERNETES_STORAGE_CLASS (or the cluster's default). */
  storageClassName: storageClassNameSchema.nullable(),
};

/** A limit is at least its request (as Kubernetes requires). Used on a whole class, after an update too. */
export function classLimitProblems(c: { cpu: number; memoryGb: number; cpuLimit?: number | null; memoryLimitGb?: number | null }): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (c.cpuLimit !== null && c.cpuLimit !== undefined && c.cpuLimit < c.cpu) problems.push({ path: 'cpuLimit', message: `must be at least cpu (${c.cpu})` });
  if (c.memoryLimitGb !== null && c.memoryLimitGb !== undefined && c.memoryLimitGb < c.memoryGb) problems.push({ path: 'memoryLimitGb', message: `must be at least memoryGb (${c.memoryGb})` });
  return problems;
}

export const resourceClassInputSchema = z.strictObject({
  id: resourceClassIdSchema.optional(),
  ...classFields,
  diskGb: classFields.diskGb.default(10),
  maxStorageGb: classFields.maxStorageGb.optional(),
  isDefault: classFields.isDefault.default(false),
  gpuResourceName: classFields.gpuResourceName.default(null),
  nodeSelector: classFields.nodeSelector.default({}),
  tolerations: classFields.tolerations.default([]),
  cpuLimit: classFields.cpuLimit.default(null),
  memoryLimitGb: classFields.memoryLimitGb.default(null),
  storageClassName: classFields.storageClassName.default(null),
})
  .refine((c) => c.maxStorageGb === undefined || c.maxStorageGb >= c.diskGb, { message: 'maxStorageGb must be at least diskGb', path: ['maxStorageGb'] })
  .superRefine((c, ctx) => {
    for (const p of classLimitProblems(c)) ctx.addIssue({ code: 'custom', path: [p.path], message: p.message });
  });

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
  // Added within v1 (older replies have none): cluster placement and limits.
  gpuResourceName: z.string().nullable().default(null),
  nodeSelector: z.record(z.string(), z.string()).default({}),
  tolerations: z.array(tolerationSchema).default([]),
  cpuLimit: z.number().nullable().default(null),
  memoryLimitGb: z.number().nullable().default(null),
  storageClassName: z.string().nullable().default(null),
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
