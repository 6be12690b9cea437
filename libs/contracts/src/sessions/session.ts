import { z } from 'zod';
import { uuidSchema } from '../ids.js';
import { diskStorageGbSchema, envVariableOverridesSchema } from '../environments/env-variables.js';
import { dataConnectorsOverridesSchema } from './data-connectors.js';
import { resourceClassIdSchema } from './resource-pool.js';

export const SESSION_STATUSES = ['starting', 'running', 'hibernated', 'failed', 'stopping'] as const;
export const sessionStatusSchema = z.enum(SESSION_STATUSES);
export type SessionStatus = z.infer<typeof sessionStatusSchema>;

/** The steps a person watches while a session launches, hibernates or stops. */
export const SESSION_PHASES = [
  'queued',
  'waiting-for-image',
  'preparing',
  'starting',
  'ready',
  'hibernating',
  'hibernated',
  'resuming',
  'stopping',
  'deleted',
  'failed',
] as const;
export const sessionPhaseSchema = z.enum(SESSION_PHASES);
export type SessionPhase = z.infer<typeof sessionPhaseSchema>;

export const launchSessionInputSchema = z.strictObject({
  launcherId: uuidSchema,
  resourceClassId: resourceClassIdSchema.optional(),
  /** Renku's `env_variable_overrides`: set or replace variables of the launcher for this session (kept for its resumes). */
  envVariableOverrides: envVariableOverridesSchema.optional(),
  /** Disk for this session, in GB, within the class's maxStorageGb; default the launcher's, else the class's defaultStorageGb. */
  diskStorageGb: diskStorageGbSchema.optional(),
  /** Idle time after which this session is hibernated, in seconds, within its pool's idleThresholdS (0 = never, if the pool allows). */
  idleThresholdS: z.number().int().min(0).max(365 * 24 * 3600).optional(),
  /** Renku's `data_connectors_overrides`: skip a project's data connector, or mount it otherwise, for this session. */
  dataConnectorsOverrides: dataConnectorsOverridesSchema.optional(),
});

/** What the session's work directory uses of its disk, as the runtime last measured it. */
export const sessionDiskSchema = z.object({
  usedBytes: z.number(),
  limitBytes: z.number(),
  usedPercent: z.number(),
  measuredAt: z.iso.datetime({ offset: true }),
  /** Set from 90 %: what is full and what to do. */
  warning: z.string().nullable(),
});
export type SessionDisk = z.infer<typeof sessionDiskSchema>;

export const updateSessionInputSchema = z
  .strictObject({
    state: z.enum(['running', 'hibernated'], { message: 'state must be "running" (resume) or "hibernated"' }),
    /** As Renku's UI: "now" marks the session used, which moves willHibernateAt (a snooze). */
    lastInteraction: z.literal('now', { message: 'lastInteraction can only be "now"' }),
    /** With state "running" on a hibernated (or failed) session: resume it with this class instead, within its pool's quota. */
    resourceClassId: resourceClassIdSchema,
  })
  .partial()
  .refine((v) => v.state !== undefined || v.lastInteraction !== undefined, { message: 'give state ("running" or "hibernated") or lastInteraction: "now"' })
  .refine((v) => v.resourceClassId === undefined || v.state === 'running', {
    message: 'resourceClassId is taken with state "running" only: a session changes class when it is resumed',
    path: ['resourceClassId'],
  });

export const sessionSchema = z.object({
  id: uuidSchema,
  userId: z.string(),
  launcherId: uuidSchema,
  projectId: z.string(),
  name: z.string(),
  status: sessionStatusSchema,
  /** The last step and what it means for the person waiting, e.g. "cloning repositories" or why it failed. */
  phase: sessionPhaseSchema,
  message: z.string().nullable(),
  image: z.string(),
  resourceClassId: z.string(),
  resourcePoolId: uuidSchema,
  /** Added within v1 (older events have none): the disk the session has, in GB. */
  diskStorageGb: z.number().optional(),
  /** Added within v1: its usage, once measured; null before (or with a runtime that does not measure). */
  disk: sessionDiskSchema.nullable().optional(),
  /** The path its owner opens on the session's own origin, e.g. /lab (the gateway adds `url`: that origin and this path). */
  path: z.string(),
  createdAt: z.iso.datetime({ offset: true }),
  startedAt: z.iso.datetime({ offset: true }).nullable(),
  lastInteraction: z.iso.datetime({ offset: true }),
  /** When an idle running session will be hibernated, and why; null when it is not running. */
  willHibernateAt: z.iso.datetime({ offset: true }).nullable(),
  idleSince: z.iso.datetime({ offset: true }).nullable(),
  hibernationReason: z.string().nullable(),
  /**
   * Added within v1: while starting, how long its launcher's last start of the same kind (launch or
   * resume) took, step by step (seconds), and when this one may be ready; null when no start of
   * it is known yet, or once it is not starting.
   */
  launchEstimate: z
    .object({
      basedOn: z.enum(['launch', 'resume']),
      totalS: z.number(),
      steps: z.record(z.string(), z.number()),
      lastReadyAt: z.iso.datetime({ offset: true }),
      expectedReadyAt: z.iso.datetime({ offset: true }),
    })
    .nullable()
    .optional(),
  /** Added within v1: which rule decides that the running session is in use, and what it saw last. */
  idleReason: z.string().nullable().optional(),
  /** Added within v1: the session's own thresholds, in seconds (0 = never). */
  idleThresholdS: z.number().optional(),
  hibernationThresholdS: z.number().optional(),
  hibernatedAt: z.iso.datetime({ offset: true }).nullable(),
  /** When a hibernated session will be deleted; null otherwise. */
  willDeleteAt: z.iso.datetime({ offset: true }).nullable(),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type Session = z.infer<typeof sessionSchema>;

export const sessionProgressSchema = z.object({
  sessionId: uuidSchema,
  seq: z.number().int().positive(),
  phase: sessionPhaseSchema,
  status: sessionStatusSchema.nullable(),
  message: z.string(),
  at: z.iso.datetime({ offset: true }),
});
export type SessionProgress = z.infer<typeof sessionProgressSchema>;

/**
 * Fire-and-forget signal from the gateway's proxy: someone used the session. Core NATS (not a
 * stream): losing one costs nothing, the next request sends another.
 */
export const SESSION_ACTIVITY_SUBJECT = 'sessions.signal.activity';
export const sessionActivitySchema = z.object({ sessionId: uuidSchema, at: z.iso.datetime({ offset: true }) });
