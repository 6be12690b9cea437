import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { BuildsError, BuildsErrorCode, environmentsRpc, type Principal } from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import { prepared, readRows } from '@launchpad/persistence';
import { DataSource, type EntityManager } from 'typeorm';
import { BUILDS_CONFIG, type BuildsConfig } from '../config.js';
import { SecretDigests } from './token-hash.js';

const ROLES_THAT_SET_SECRETS = ['maintainer', 'owner'];
const STORED_PEPPER = 'webhook-secret-pepper';
/** Prepared: read on every delivery. */
const VERIFY_SQL = prepared(`SELECT s.hash, coalesce(g.path, s.project_path) AS path, g.destroyed
   FROM (SELECT $1::text AS project_id) p
   LEFT JOIN webhook_secrets s ON s.project_id = p.project_id
   LEFT JOIN gitlab_projects g ON g.project_id = p.project_id`);

/** What a delivery's token was checked against, once it matched. */
export interface VerifiedProject {
  projectId: string;
  /** The project's path as we know it (system hooks, or the projects service when the secret was set); null when we know none. */
  path: string | null;
  /** GitLab destroyed the project (system hook): its deliveries change nothing any more. */
  destroyed: boolean;
}

/**
 * Per-project webhook secrets (GitLab's "Secret token"), stored as keyed HMAC-SHA256 digests (see
 * token-hash.ts for why). Who may set one is asked of environments, which owns projects and
 * members: maintainers and owners of the project (as in GitLab, where they configure webhooks)
 * and administrators. The project's path is recorded with it, so that images are named after the
 * project the secret belongs to, never after what a payload claims.
 */
@Injectable()
export class WebhookSecrets {
  private readonly logger = new Logger(WebhookSecrets.name);
  private digests: Promise<SecretDigests> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly rpc: RpcClient,
    @Inject(BUILDS_CONFIG) private readonly config: BuildsConfig,
  ) {}

  async set(projectId: string, secret: string, caller: Principal) {
    // PROJECT_NOT_FOUND (a project the caller may not see) comes back from environments as it is.
    const project = await this.rpc.call(environmentsRpc.getProject, { caller, projectId });
    if (!caller.admin && !ROLES_THAT_SET_SECRETS.includes(project.role ?? '')) {
      throw new BuildsError(
        BuildsErrorCode.WEBHOOK_SECRET_FORBIDDEN,
        `to set the webhook secret of ${project.path} you need the maintainer or owner role; you are ${project.role ?? 'not a member'}`,
      );
    }
    const digest = (await this.secretDigests()).digest(secret);
    // The path as environments just answered, unless a newer one reached us meanwhile (ProjectPathsConsumer).
    const [row] = await this.dataSource.query(
      `INSERT INTO webhook_secrets AS held (project_id, hash, project_path, project_version, updated_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (project_id) DO UPDATE SET hash = EXCLUDED.hash, updated_by = EXCLUDED.updated_by, updated_at = now(),
         project_path = CASE WHEN held.project_version <= EXCLUDED.project_version THEN EXCLUDED.project_path ELSE held.project_path END,
         project_version = greatest(held.project_version, EXCLUDED.project_version)
       RETURNING updated_at`,
      [projectId, digest, project.path, project.version, caller.userId],
    );
    this.logger.log(`webhook secret of project ${project.path} (${projectId}) set by ${caller.userId}`);
    return { projectId, updatedBy: caller.userId, updatedAt: (row as { updated_at: Date }).updated_at.toISOString() };
  }

  /**
   * Throws WEBHOOK_TOKEN_INVALID unless the token is the project's secret, with the same words and
   * the same work whether the project has no secret or the token is wrong: a caller learns nothing
   * about which projects exist here.
   */
  async verify(projectId: string, token: string | undefined): Promise<VerifiedProject> {
    const digests = await this.secretDigests();
    // On the pool, not through TypeORM's query runner: this read is on every delivery's path.
    const rows = await readRows<{ hash: string | null; path: string | null; destroyed: boolean | null }>(this.dataSource, VERIFY_SQL, [projectId]);
    const row = rows[0];
    const stored = row?.hash ?? null;
    if (!digests.matches(token ?? '', stored) || !token) {
      if (stored !== null && digests.madeWithAnotherKey(stored)) {
        this.logger.warn(`the webhook secret of project ${projectId} was stored under another WEBHOOK_SECRET_PEPPER (or before it existed): set it again`);
      }
      throw invalid(PROJECT_TOKEN_INVALID);
    }
    return { projectId, path: row?.path ?? null, destroyed: row?.destroyed === true };
  }

  /** Records the path a verified delivery gave for a project whose secret was stored without one. */
  async learnPath(manager: EntityManager, projectId: string, path: string): Promise<void> {
    await manager.query(`UPDATE webhook_secrets SET project_path = $2 WHERE project_id = $1 AND project_path IS NULL`, [projectId, path]);
  }

  /** The key digests are made with: WEBHOOK_SECRET_PEPPER, or (unset) a random one kept in our schema. */
  private secretDigests(): Promise<SecretDigests> {
    this.digests ??= this.loadPepper().then(
      (pepper) => new SecretDigests(pepper),
      (error: unknown) => {
        this.digests = undefined;
        throw error;
      },
    );
    return this.digests;
  }

  private async loadPepper(): Promise<Buffer> {
    const configured = this.config.webhooks.secretPepper;
    if (configured) return Buffer.from(configured, 'utf8');
    await this.dataSource.query(`INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
      STORED_PEPPER,
      randomBytes(32).toString('base64url'),
    ]);
    const [row] = await this.dataSource.query(`SELECT value FROM server_keys WHERE name = $1`, [STORED_PEPPER]);
    this.logger.warn(
      'WEBHOOK_SECRET_PEPPER is not set: webhook secrets are keyed with a random key kept in the database; set WEBHOOK_SECRET_PEPPER in production (changing it later means setting every webhook secret again)',
    );
    return Buffer.from((row as { value: string }).value, 'utf8');
  }
}

/** The one answer to a project hook whose token does not match, whatever the reason. */
export const PROJECT_TOKEN_INVALID =
  "the X-Gitlab-Token does not match a webhook secret of this project: set the project's webhook secret with PUT /api/v1/projects/{id}/webhook-secret, and the same Secret token in GitLab";

export function invalid(message: string): BuildsError {
  return new BuildsError(BuildsErrorCode.WEBHOOK_TOKEN_INVALID, message);
}
