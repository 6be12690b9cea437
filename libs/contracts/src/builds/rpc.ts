import { z } from 'zod';
import { defineRpc } from '../rpc.js';
import { principalSchema } from '../principal.js';
import { projectIdSchema } from '../ids.js';
import { buildSchema, buildSearchSchema, fullCommitShaSchema, setWebhookSecretInputSchema, webhookSecretSchema } from './build.js';

/** The headers of a GitLab delivery that matter, as the gateway received them. */
export const gitlabDeliveryHeadersSchema = z.object({
  token: z.string().max(1024).optional(),
  event: z.string().max(100).optional(),
  eventUuid: z.string().max(100).optional(),
  /** `Idempotency-Key` (GitLab 17.4+): the same across automatic retries and manual resends of a delivery. */
  idempotencyKey: z.string().max(100).optional(),
});

export const webhookOutcomeSchema = z.object({
  /** applied: recorded (and changed what it should); duplicate: this delivery was applied before; ignored: nothing for us in it. */
  outcome: z.enum(['applied', 'duplicate', 'ignored']),
  detail: z.string(),
});

export const buildsRpc = {
  receiveGitLabWebhook: defineRpc(
    'builds.rpc.webhook.gitlab',
    z.object({ headers: gitlabDeliveryHeadersSchema, body: z.record(z.string(), z.unknown()) }),
    webhookOutcomeSchema,
  ),
  setWebhookSecret: defineRpc(
    'builds.rpc.webhook-secret.set',
    z.object({ caller: principalSchema, projectId: projectIdSchema, input: setWebhookSecretInputSchema }),
    webhookSecretSchema,
  ),
  listBuilds: defineRpc(
    'builds.rpc.build.list',
    z.object({ caller: principalSchema, projectId: projectIdSchema, query: buildSearchSchema }),
    z.object({ items: z.array(buildSchema) }),
  ),
  /**
   * For services (sessions): the build of one commit, or BUILD_NOT_FOUND. To wait for it, consume
   * `builds.build.>` and look again on each event for this project and commit.
   */
  imageForCommit: defineRpc('builds.rpc.build.image-for-commit', z.object({ projectId: projectIdSchema, sha: fullCommitShaSchema }), buildSchema),
} as const;
