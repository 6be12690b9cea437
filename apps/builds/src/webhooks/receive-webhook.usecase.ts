import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { BuildsError, BuildsErrorCode, type gitlabDeliveryHeadersSchema, type webhookOutcomeSchema } from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import { counter } from '@launchpad/telemetry';
import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { BuildsService } from '../builds/builds.service.js';
import { BUILDS_CONFIG, type BuildsConfig } from '../config.js';
import { GitLabSyncService } from '../gitlab-sync/gitlab-sync.service.js';
import { readSystemHook } from '../gitlab-sync/system-hooks.js';
import { projectIdOf, readProjectHook } from './gitlab-payloads.js';
import { sameSecret } from './token-hash.js';
import { invalid, WebhookSecrets } from './webhook-secrets.js';

type Headers = z.output<typeof gitlabDeliveryHeadersSchema>;
type Outcome = z.output<typeof webhookOutcomeSchema>;

const deliveries = counter('launchpad_gitlab_webhook_deliveries_total', 'GitLab webhook deliveries received', ['event', 'outcome']);

const SYSTEM_HOOK = 'System Hook';

/**
 * One GitLab delivery: verify its token, read it, and record it together with what it changes in
 * one transaction, keyed by X-Gitlab-Event-UUID (GitLab resends a delivery with the same UUID), so
 * that it is applied once. GitLab is never called from here: the answer must be fast.
 */
@Injectable()
export class ReceiveWebhook {
  private readonly logger = new Logger(ReceiveWebhook.name);

  constructor(
    private readonly outbox: OutboxWriter,
    private readonly secrets: WebhookSecrets,
    private readonly builds: BuildsService,
    private readonly sync: GitLabSyncService,
    @Inject(BUILDS_CONFIG) private readonly config: BuildsConfig,
  ) {}

  async execute(headers: Headers, body: Record<string, unknown>): Promise<Outcome> {
    const event = headers.event ?? 'unknown';
    try {
      const outcome = await this.receive(headers, body);
      deliveries.inc({ event, outcome: outcome.outcome });
      return outcome;
    } catch (error) {
      deliveries.inc({ event, outcome: error instanceof BuildsError ? error.code : 'error' });
      throw error;
    }
  }

  private async receive(headers: Headers, body: Record<string, unknown>): Promise<Outcome> {
    const system = headers.event === SYSTEM_HOOK;
    let scope: string;
    if (system) {
      const expected = this.config.gitlab.systemHookToken;
      if (!expected) throw invalid('system hooks are not accepted here: set GITLAB_SYSTEM_HOOK_TOKEN on the builds service to the system hook\'s Secret token');
      if (!headers.token || !sameSecret(headers.token, expected)) throw invalid('the X-Gitlab-Token does not match the system hook secret (GITLAB_SYSTEM_HOOK_TOKEN)');
      scope = 'system';
    } else {
      const projectId = projectIdOf(body);
      if (projectId === null) {
        throw new BuildsError(BuildsErrorCode.WEBHOOK_PAYLOAD_INVALID, 'the delivery names no GitLab project (project.id or project_id): is this a GitLab project webhook?', [
          { path: 'project.id', message: 'required' },
        ]);
      }
      await this.secrets.verify(projectId, headers.token);
      scope = `project:${projectId}`;
    }

    const apply = this.read(system, body);
    if (apply.kind === 'ignored') {
      this.logger.debug(`ignored ${headers.event ?? 'a'} delivery ${headers.eventUuid ?? ''}: ${apply.reason}`);
      return { outcome: 'ignored', detail: apply.reason };
    }
    // Without an X-Gitlab-Event-UUID (older GitLab, hand-made requests), the same body is the same delivery.
    const deliveryId = headers.eventUuid ?? `sha256:${createHash('sha256').update(JSON.stringify(body)).digest('hex')}`;
    return this.outbox.transaction(async (manager) => {
      const inserted: unknown[] = await manager.query(
        `INSERT INTO webhook_deliveries (scope, delivery_id, event, outcome) VALUES ($1, $2, $3, '') ON CONFLICT DO NOTHING RETURNING delivery_id`,
        [scope, deliveryId, headers.event ?? String(body.object_kind ?? body.event_name ?? 'unknown')],
      );
      if (inserted.length === 0) return { outcome: 'duplicate' as const, detail: `delivery ${deliveryId} was applied before` };
      const detail = await apply.run(manager);
      await manager.query(`UPDATE webhook_deliveries SET outcome = $3 WHERE scope = $1 AND delivery_id = $2`, [scope, deliveryId, detail]);
      return { outcome: 'applied' as const, detail };
    });
  }

  /** What the delivery means, as a transaction step; malformed payloads are refused (422), irrelevant ones ignored. */
  private read(system: boolean, body: Record<string, unknown>): { kind: 'ignored'; reason: string } | { kind: 'apply'; run: (m: EntityManager) => Promise<string> } {
    try {
      const projectHook = !system || body.object_kind === 'push';
      if (projectHook) {
        const meaning = readProjectHook(body, this.config.builds);
        if (meaning.kind === 'ignored') return meaning;
        const o = meaning.observation;
        return {
          kind: 'apply',
          run: async (m) => {
            const applied = await this.builds.apply(m, o);
            const what = `build of ${o.sha.slice(0, 8)} in project ${o.projectId}`;
            if (!applied) return `${what}: already past ${o.status} (pipeline ${o.pipelineId ?? '-'}, job ${o.jobId ?? '-'}); nothing changed`;
            return applied.transition ? `${what} is ${applied.build.status}` : `${what} updated, still ${applied.build.status}`;
          },
        };
      }
      const meaning = readSystemHook(body, this.config.gitlab.memberIdentity);
      if (meaning.kind === 'ignored') return meaning;
      const change = meaning.change;
      return {
        kind: 'apply',
        run: async (m) => ((await this.sync.apply(m, change)) ? `${change.kind} ${change.projectId} applied` : `${change.kind} ${change.projectId} is older than what we know; nothing changed`),
      };
    } catch (error) {
      if (error instanceof z.ZodError) {
        const details = error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
        throw new BuildsError(
          BuildsErrorCode.WEBHOOK_PAYLOAD_INVALID,
          `the ${String(body.object_kind ?? body.event_name ?? 'GitLab')} payload is not as GitLab documents it: ${details.map((d) => `${d.path || '(root)'}: ${d.message}`).join('; ')}`,
          details,
        );
      }
      throw error;
    }
  }
}
