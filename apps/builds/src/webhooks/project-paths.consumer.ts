import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ENVIRONMENTS_STREAM, type Envelope, parseEnvelope, projectUpsertedV1, projectUpsertedV2 } from '@launchpad/contracts';
import { applyOnce, DurableConsumers } from '@launchpad/messaging';
import { DataSource } from 'typeorm';

export const PROJECT_PATHS_DURABLE = 'builds-projects';

/**
 * A project renamed through the API (`PUT /api/v1/projects/{id}`, environments' projection)
 * reaches the builds service: the path its webhook secret was stored with follows, so images are
 * named after the new path. (A path from GitLab's system hooks, when it has one, still wins: it is
 * GitLab's own.) Each event applied once.
 */
@Injectable()
export class ProjectPathsConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger(ProjectPathsConsumer.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly consumers: DurableConsumers,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.consumers.start({
      stream: ENVIRONMENTS_STREAM.name,
      durable: PROJECT_PATHS_DURABLE,
      filterSubjects: ['environments.project.upserted'],
      handler: (envelope) => this.handle(envelope),
    });
  }

  async handle(envelope: Envelope): Promise<void> {
    const contract = envelope.version === 1 ? projectUpsertedV1 : projectUpsertedV2;
    const { id, path } = parseEnvelope(contract, envelope).data;
    await applyOnce(this.dataSource, PROJECT_PATHS_DURABLE, envelope.id, async (manager) => {
      const changed: unknown[] = await manager.query(
        `UPDATE webhook_secrets SET project_path = $2, updated_at = now() WHERE project_id = $1 AND project_path IS DISTINCT FROM $2 RETURNING project_id`,
        [id, path],
      );
      const count = Array.isArray(changed[0]) ? (changed[0] as unknown[]).length : changed.length;
      if (count > 0) this.logger.log(`project ${id} is now ${path}: its images are named after it`);
    });
  }
}
