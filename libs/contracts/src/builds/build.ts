import { z } from 'zod';
import { projectIdSchema } from '../ids.js';

/** Where a build stands. `pending` < `running` < a terminal status; see apps/builds build-status.ts. */
export const BUILD_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'canceled'] as const;
export const buildStatusSchema = z.enum(BUILD_STATUSES);
export type BuildStatus = z.infer<typeof buildStatusSchema>;

/** A git commit id: hex, 7 (an abbreviation) to 64 (a SHA-256 repository) characters. */
export const commitShaSchema = z
  .string()
  .regex(/^[0-9a-f]{7,64}$/, { message: 'must be a commit id: 7 to 64 lowercase hex characters' });
export const fullCommitShaSchema = z
  .string()
  .regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, { message: 'must be a full commit id: 40 (or 64) lowercase hex characters' });

/**
 * The image GitLab CI builds for one project commit. `revision` grows by one with every change,
 * so a consumer that sees two versions of a build out of order keeps the higher one.
 */
export const buildSchema = z.object({
  projectId: projectIdSchema,
  sha: z.string(),
  /** Branch (or tag, see `tag`) the pipeline ran for. */
  ref: z.string().nullable(),
  tag: z.boolean(),
  /** GitLab's `path_with_namespace`, e.g. `group/project`. */
  projectPath: z.string(),
  /** The project's default branch as GitLab last reported it. */
  defaultBranch: z.string().nullable(),
  status: buildStatusSchema,
  /** `<registry>/<project path>:<short sha>`; exists once the build succeeded. */
  image: z.string(),
  /** The pipeline whose image job the record follows: any of the commit's pipelines (branch, tag, merge request...). */
  pipelineId: z.number().int().nullable(),
  /**
   * The first pipeline GitLab ran for the commit on its branch (`ref`): where the commit stands
   * among the branch's commits, whichever pipeline built its image. Null until one is seen; absent
   * from events written before it was added.
   */
  branchPipelineId: z.number().int().nullable().optional(),
  pipelineUrl: z.string().nullable(),
  jobId: z.number().int().nullable(),
  jobUrl: z.string().nullable(),
  /** Why it failed or was canceled, in GitLab's words (`script_failure`) or ours. */
  failureReason: z.string().nullable(),
  revision: z.number().int().positive(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  startedAt: z.iso.datetime({ offset: true }).nullable(),
  finishedAt: z.iso.datetime({ offset: true }).nullable(),
});
export type Build = z.infer<typeof buildSchema>;

export const buildSearchSchema = z.strictObject({
  sha: commitShaSchema.optional(),
  ref: z.string().min(1).max(255).optional(),
  status: buildStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const setWebhookSecretInputSchema = z.strictObject({
  secret: z
    .string()
    .min(16, { message: 'must be at least 16 characters: use a random string, e.g. `openssl rand -hex 32`' })
    .max(256)
    .regex(/^[\x21-\x7e]+$/, { message: 'must be printable ASCII without spaces (GitLab sends it in the X-Gitlab-Token header)' }),
});

export const webhookSecretSchema = z.object({
  projectId: projectIdSchema,
  updatedBy: z.string(),
  updatedAt: z.iso.datetime({ offset: true }),
});
