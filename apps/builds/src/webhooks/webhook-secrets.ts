import { Injectable, Logger } from '@nestjs/common';
import { BuildsError, BuildsErrorCode, environmentsRpc, type Principal } from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import { DataSource } from 'typeorm';
import { hashSecret, VerifiedTokens, verifySecret } from './token-hash.js';

const ROLES_THAT_SET_SECRETS = ['maintainer', 'owner'];

/**
 * Per-project webhook secrets (GitLab's "Secret token"), stored as scrypt hashes. Who may set one
 * is asked of environments, which owns projects and members: maintainers and owners of the
 * project (as in GitLab, where they configure webhooks) and administrators.
 */
@Injectable()
export class WebhookSecrets {
  private readonly logger = new Logger(WebhookSecrets.name);
  private readonly verified = new VerifiedTokens();

  constructor(
    private readonly dataSource: DataSource,
    private readonly rpc: RpcClient,
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
    const hash = await hashSecret(secret);
    const [row] = await this.dataSource.query(
      `INSERT INTO webhook_secrets (project_id, hash, updated_by) VALUES ($1, $2, $3)
       ON CONFLICT (project_id) DO UPDATE SET hash = EXCLUDED.hash, updated_by = EXCLUDED.updated_by, updated_at = now()
       RETURNING updated_at`,
      [projectId, hash, caller.userId],
    );
    this.logger.log(`webhook secret of project ${project.path} (${projectId}) set by ${caller.userId}`);
    return { projectId, updatedBy: caller.userId, updatedAt: (row as { updated_at: Date }).updated_at.toISOString() };
  }

  /** Throws WEBHOOK_TOKEN_INVALID unless the token is the project's secret. Tells nothing more to a wrong guess. */
  async verify(projectId: string, token: string | undefined): Promise<void> {
    if (!token) throw invalid(`the delivery has no X-Gitlab-Token header: set the project's webhook Secret token in GitLab`);
    const rows: { hash: string }[] = await this.dataSource.query(`SELECT hash FROM webhook_secrets WHERE project_id = $1`, [projectId]);
    const stored = rows[0]?.hash;
    if (!stored) {
      throw invalid(`project ${projectId} has no webhook secret here yet: set one with PUT /api/v1/projects/${projectId}/webhook-secret, and the same in GitLab`);
    }
    if (this.verified.has(stored, token)) return;
    if (!(await verifySecret(token, stored))) throw invalid(`the X-Gitlab-Token does not match the webhook secret of project ${projectId}`);
    this.verified.remember(stored, token);
  }
}

export function invalid(message: string): BuildsError {
  return new BuildsError(BuildsErrorCode.WEBHOOK_TOKEN_INVALID, message);
}
