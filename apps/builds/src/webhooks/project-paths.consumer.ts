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
    const { id, path, version } = parseEnvelope(contract, envelope).data;
    await applyOnce(this.dataSource, PROJECT_PATHS_DURABLE, envelope.id, async (manager) => {
      // By version (libs/catalogue's apply rule): a rename delivered late, or to the other replica
      // at the same time, never rolls the path back. Version 0 (an event from before versions)
      // replaces only a path as old.
      const answer: unknown[] = await manager.query(
        `WITH old AS (SELECT project_path FROM webhook_secrets WHERE project_id = $1 FOR UPDATE)
         UPDATE webhook_secrets AS held SET project_path = $2, project_version = $3, updated_at = now()
           FROM old
          WHERE held.project_id = $1 AND (held.project_version < $3 OR ($3 = 0 AND held.project_version = 0))
         RETURNING old.project_path IS DISTINCT FROM $2 AS renamed`,
        [id, path, version],
      );
      // (TypeORM answers an UPDATE with [rows, count].)
      const rows = (Array.isArray(answer[0]) ? answer[0] : answer) as { renamed: boolean }[];
      if (rows.some((r) => r.renamed)) this.logger.log(`project ${id} is now ${path}: its images are named after it`);
    });
  }
}
