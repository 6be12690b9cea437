import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { BuildsError, BuildsErrorCode, type gitlabDeliveryHeadersSchema, type webhookOutcomeSchema } from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import { advisoryLockSql, type LockKey, prepared, queryRows, runTogether, type Statement } from '@launchpad/persistence';
import { counter } from '@launchpad/telemetry';
import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { buildOfCommitRow, buildOfCommitSql } from '../builds/build-rows.js';
import type { BuildEntity } from '../builds/build.entity.js';
import { type Applied, BuildsService } from '../builds/builds.service.js';
import { commitLock } from '../locks.js';
import { BUILDS_CONFIG, type BuildsConfig } from '../config.js';
import { GitLabSyncService } from '../gitlab-sync/gitlab-sync.service.js';
import { readSystemHook } from '../gitlab-sync/system-hooks.js';
import { BUILD_HOOK_KINDS, type DeliveryProject, IGNORED_KIND, projectIdOf, readProjectHook } from './gitlab-payloads.js';
import { sameSecret } from './token-hash.js';
import { invalid, WebhookSecrets } from './webhook-secrets.js';

type Headers = z.output<typeof gitlabDeliveryHeadersSchema>;
type Outcome = z.output<typeof webhookOutcomeSchema>;

const deliveries = counter('launchpad_gitlab_webhook_deliveries_total', 'GitLab webhook deliveries received', ['event', 'outcome']);

const SYSTEM_HOOK = 'System Hook';
/** The X-Gitlab-Event values a metric label may take: the header is the sender's to choose, a label set must stay bounded. */
const EVENT_LABELS: ReadonlySet<string> = new Set(['Push Hook', 'Pipeline Hook', 'Job Hook', SYSTEM_HOOK]);
export const eventLabel = (event: string | undefined): string => (event !== undefined && EVENT_LABELS.has(event) ? event : 'other');

/**
 * A delivery's first statement ($1 scope, $2 delivery id, $3 event): its row, then the lock ($4)
 * of the step, then the commit's record ($5 project, $6 sha). Prepared: one of these runs on
 * every delivery, and parsing and planning it cost Postgres more than running it.
 */
const RECORD_DELIVERY_SQL = `WITH d AS (INSERT INTO webhook_deliveries (scope, delivery_id, event, outcome) VALUES ($1, $2, $3, '') ON CONFLICT DO NOTHING RETURNING delivery_id)`;
const RECORD_DELIVERY = prepared(`${RECORD_DELIVERY_SQL} SELECT delivery_id FROM d`);
const RECORD_DELIVERY_LOCKED = prepared(`${RECORD_DELIVERY_SQL} SELECT delivery_id, ${advisoryLockSql('$4')} FROM d`);
const RECORD_DELIVERY_READ_COMMIT = prepared(`${RECORD_DELIVERY_SQL},
   l AS (SELECT delivery_id, ${advisoryLockSql('$4')} FROM d)
 SELECT b.* FROM l LEFT JOIN LATERAL ${buildOfCommitSql('$5', '$6')} ON true`);

/**
 * One GitLab delivery: verify its token, read it, and record it together with what it changes in
 * one transaction, keyed by its Idempotency-Key (GitLab 17.4+; the same across retries and
 * resends) or else its X-Gitlab-Event-UUID, so that it is applied once. GitLab is never called
 * from here: the answer must be fast.
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
    const event = eventLabel(headers.event);
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
    let project: DeliveryProject | null = null;
    if (system) {
      const expected = this.config.gitlab.systemHookToken;
      if (!expected) throw invalid('system hooks are not accepted here: set GITLAB_SYSTEM_HOOK_TOKEN on the builds service to the system hook\'s Secret token');
      if (!headers.token || !sameSecret(headers.token, expected)) throw invalid('the X-Gitlab-Token does not match the system hook secret (GITLAB_SYSTEM_HOOK_TOKEN)');
      scope = 'system';
    } else {
      // Group and subgroup hooks, issues, notes...: nothing of ours can change, so no token is
      // needed to say so, and the answer is the same whatever was sent.
      if (!BUILD_HOOK_KINDS.has(body.object_kind)) return { outcome: 'ignored', detail: IGNORED_KIND };
      const found = projectIdOf(body);
      if (found.kind === 'missing') {
        throw new BuildsError(BuildsErrorCode.WEBHOOK_PAYLOAD_INVALID, 'the delivery names no GitLab project (project.id or project_id): is this a GitLab project webhook?', [
          { path: 'project.id', message: 'required' },
        ]);
      }
      if (found.kind === 'invalid') {
        throw new BuildsError(BuildsErrorCode.WEBHOOK_PAYLOAD_INVALID, `the delivery does not name one GitLab project: ${found.path}: ${found.reason}`, [
          { path: found.path, message: found.reason },
        ]);
      }
      const verified = await this.secrets.verify(found.projectId, headers.token);
      if (verified.destroyed) return { outcome: 'ignored', detail: `GitLab destroyed project ${verified.projectId}; nothing changed` };
      project = { id: verified.projectId, path: verified.path };
      scope = `project:${verified.projectId}`;
    }

    const apply = this.read(body, project);
    if (apply.kind === 'ignored') {
      this.logger.debug(`ignored ${eventLabel(headers.event)} delivery ${headers.eventUuid ?? ''}: ${apply.reason}`);
      return { outcome: 'ignored', detail: apply.reason };
    }
    // Idempotency-Key stays the same when GitLab retries or someone resends a delivery; older
    // GitLab sends only X-Gitlab-Event-UUID; without either, the same body is the same delivery.
    const deliveryId = headers.idempotencyKey ?? headers.eventUuid ?? `sha256:${createHash('sha256').update(JSON.stringify(body)).digest('hex')}`;
    return this.outbox.transaction(async (manager) => {
      // The delivery's row first (a retry of the same delivery waits for it, then finds it done),
      // then, in the same statement, the lock the step would take next (locks.ts).
      // And, once the lock is held, the commit's record (a snapshot of its own: buildOfCommitSql).
      const commit = apply.lock ? apply.commit : undefined;
      const inserted = await queryRows<Record<string, unknown>>(
        manager,
        commit ? RECORD_DELIVERY_READ_COMMIT : apply.lock ? RECORD_DELIVERY_LOCKED : RECORD_DELIVERY,
        [scope, deliveryId, eventLabel(headers.event), ...(apply.lock ? [apply.lock] : []), ...(commit ? [commit.projectId, commit.sha] : [])],
      );
      if (inserted.length === 0) return { outcome: 'duplicate' as const, detail: `delivery ${deliveryId} was applied before` };
      const recordOutcome = (detail: string): Statement => ({
        sql: `UPDATE webhook_deliveries SET outcome = $3 WHERE scope = $1 AND delivery_id = $2`,
        params: [scope, deliveryId, detail],
      });
      const detail = await apply.run(manager, recordOutcome, commit ? buildOfCommitRow(inserted[0]) : undefined);
      return { outcome: 'applied' as const, detail };
    });
  }

  private systemPushProject(body: Record<string, unknown>): DeliveryProject {
    const found = projectIdOf(body);
    if (found.kind === 'found') return { id: found.projectId, path: null };
    const path = found.kind === 'invalid' ? found.path : 'project_id';
    throw new BuildsError(BuildsErrorCode.WEBHOOK_PAYLOAD_INVALID, `the push does not name one GitLab project (${path})`, [{ path, message: 'must name one GitLab project' }]);
  }

  /** What the delivery means, as a transaction step; malformed payloads are refused (422), irrelevant ones ignored. */
  private read(
    body: Record<string, unknown>,
    /** The verified project of a project hook; null for a system hook. */
    project: DeliveryProject | null,
  ):
    | { kind: 'ignored'; reason: string }
    | {
        kind: 'apply';
        /** The advisory lock the step takes first, taken with the delivery's row instead (one round trip). */
        lock?: LockKey;
        /** The commit whose record the step reads under the lock: read in that statement too, and handed to `run`. */
        commit?: { projectId: string; sha: string };
        /** Applies the delivery and runs `recordOutcome(detail)` with its last write; answers the detail. */
        run: (m: EntityManager, recordOutcome: (detail: string) => Statement, current?: BuildEntity | null) => Promise<string>;
      } {
    try {
      if (project !== null || body.object_kind === 'push') {
        // A project hook under the project its token was verified for; or a push the system hook
        // reports (the system hook secret is the instance's, so its payload speaks for GitLab).
        const about = project ?? this.systemPushProject(body);
        const meaning = readProjectHook(body, this.config.builds, about);
        if (meaning.kind === 'ignored') return meaning;
        const o = meaning.observation;
        const what = `build of ${o.sha.slice(0, 8)} in project ${o.projectId}`;
        const describe = (applied: Applied | null) => {
          if (!applied) return `${what}: already past ${o.status} (pipeline ${o.pipelineId ?? '-'}, job ${o.jobId ?? '-'}); nothing changed`;
          return applied.transition ? `${what} is ${applied.build.status}` : `${what} updated, still ${applied.build.status}`;
        };
        return {
          kind: 'apply',
          lock: commitLock(o.projectId, o.sha),
          commit: { projectId: o.projectId, sha: o.sha },
          run: async (m, recordOutcome, current) => {
            if (project !== null && project.path === null) await this.secrets.learnPath(m, project.id, o.projectPath);
            // The record, its event and the delivery's outcome in one statement.
            const applied = await this.builds.apply(m, o, { lockHeld: true, current, also: (a) => [recordOutcome(describe(a))] });
            return describe(applied);
          },
        };
      }
      const meaning = readSystemHook(body, this.config.gitlab.memberIdentity);
      if (meaning.kind === 'ignored') return meaning;
      const change = meaning.change;
      return {
        kind: 'apply',
        run: async (m, recordOutcome) => {
          const detail = (await this.sync.apply(m, change))
            ? `${GitLabSyncService.describe(change)} applied`
            : `${GitLabSyncService.describe(change)} is older than what we know; nothing changed`;
          await runTogether(m, [recordOutcome(detail)]);
          return detail;
        },
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
