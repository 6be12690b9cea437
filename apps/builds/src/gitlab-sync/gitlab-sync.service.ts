import { Inject, Injectable } from '@nestjs/common';
import {
  gitlabMemberAddedV1,
  gitlabMemberRemovedV1,
  gitlabMemberUpdatedV1,
  gitlabProjectCreatedV1,
  gitlabProjectDestroyedV1,
  gitlabProjectRenamedV1,
  gitlabUserDestroyedV1,
  gitlabUserRenamedV1,
  type GitLabPlace,
} from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import type { EntityManager } from 'typeorm';
import { BUILDS_CONFIG, type BuildsConfig } from '../config.js';
import type { Place, ProjectionChange } from './system-hooks.js';

/**
 * Puts system hook changes in GitLab's order and hands the ones that are news to environments as
 * `builds.gitlab.*` events. A change older than what we already applied for the same project (or
 * membership) is dropped: GitLab delivers system hooks asynchronously, so a late `project_rename`
 * must not resurrect a destroyed project, nor a late `user_add_to_team` re-add a removed member.
 */
@Injectable()
export class GitLabSyncService {
  constructor(
    private readonly outbox: OutboxWriter,
    @Inject(BUILDS_CONFIG) private readonly config: BuildsConfig,
  ) {}

  repositoryUrl(path: string): string {
    return `${this.config.gitlab.url}/${path}.git`;
  }

  /** Applies a change in the caller's transaction; false when it was older than what we know. */
  async apply(manager: EntityManager, change: ProjectionChange): Promise<boolean> {
    switch (change.kind) {
      case 'project': {
        if (!(await this.advanceProject(manager, change.projectId, change.path, change.place, false))) return false;
        const data = {
          projectId: change.projectId,
          path: change.path,
          name: change.name,
          visibility: change.visibility,
          repositoryUrl: this.repositoryUrl(change.path),
          previousRepositoryUrl: change.previousPath ? this.repositoryUrl(change.previousPath) : null,
          place: placeOf(change.place),
        };
        await this.outbox.append(manager, change.event === 'created' ? gitlabProjectCreatedV1 : gitlabProjectRenamedV1, data);
        return true;
      }
      case 'project-destroyed':
        if (!(await this.advanceProject(manager, change.projectId, change.path, change.place, true))) return false;
        await this.outbox.append(manager, gitlabProjectDestroyedV1, { projectId: change.projectId, path: change.path, place: placeOf(change.place) });
        return true;
      case 'member': {
        if (await this.projectDestroyed(manager, change.projectId)) return false;
        if (!(await this.advanceMember(manager, change.projectId, change.userId, change.place, false))) return false;
        const project = { projectId: change.projectId, ...change.project, repositoryUrl: this.repositoryUrl(change.project.path) };
        const data = { projectId: change.projectId, userId: change.userId, role: change.role, project, place: placeOf(change.place) };
        await this.outbox.append(manager, change.event === 'added' ? gitlabMemberAddedV1 : gitlabMemberUpdatedV1, data);
        return true;
      }
      case 'member-removed':
        if (!(await this.advanceMember(manager, change.projectId, change.userId, change.place, true))) return false;
        await this.outbox.append(manager, gitlabMemberRemovedV1, { projectId: change.projectId, userId: change.userId, place: placeOf(change.place) });
        return true;
      case 'user-renamed': {
        // The old name's memberships end here (so a late add for it is older and dropped), and
        // the new name's begin, unless something newer is known of them.
        // (TypeORM answers an UPDATE with [rows, count].)
        const [moved]: [{ project_id: string }[], number] = await manager.query(
          `UPDATE gitlab_members SET source_at = $2, source_rank = $3, removed = true
           WHERE user_id = $1 AND NOT removed AND (source_at, source_rank) <= ($2, $3) RETURNING project_id`,
          [change.from, change.place.at, change.place.rank],
        );
        for (const { project_id } of moved) await this.advanceMember(manager, project_id, change.to, change.place, false);
        await this.outbox.append(manager, gitlabUserRenamedV1, { from: change.from, to: change.to, place: placeOf(change.place) });
        return true;
      }
      case 'user-destroyed':
        // Final whatever its place: a destroyed user has no memberships, and a late add is older still.
        await manager.query(
          `UPDATE gitlab_members SET source_at = greatest(source_at, $2), source_rank = $3, removed = true WHERE user_id = $1`,
          [change.userId, change.place.at, change.place.rank],
        );
        await this.outbox.append(manager, gitlabUserDestroyedV1, { userId: change.userId, place: placeOf(change.place) });
        return true;
    }
  }

  /** How a change is named in a delivery's outcome. */
  static describe(change: ProjectionChange): string {
    switch (change.kind) {
      case 'user-renamed':
        return `user ${change.from} renamed ${change.to}`;
      case 'user-destroyed':
        return `user ${change.userId} destroyed`;
      default:
        return `${change.kind} ${change.projectId}`;
    }
  }

  /** Moves a project's place forward; a destroyed project stays destroyed (GitLab never reuses ids). */
  private async advanceProject(manager: EntityManager, projectId: string, path: string, place: Place, destroyed: boolean): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO gitlab_projects (project_id, path, source_at, source_rank, destroyed) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (project_id) DO UPDATE SET path = EXCLUDED.path, source_at = EXCLUDED.source_at,
         source_rank = EXCLUDED.source_rank, destroyed = EXCLUDED.destroyed
       WHERE NOT gitlab_projects.destroyed
         AND (gitlab_projects.source_at, gitlab_projects.source_rank) <= (EXCLUDED.source_at, EXCLUDED.source_rank)
       RETURNING project_id`,
      [projectId, path, place.at, place.rank, destroyed],
    );
    return rows.length > 0;
  }

  private async advanceMember(manager: EntityManager, projectId: string, userId: string, place: Place, removed: boolean): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO gitlab_members (project_id, user_id, source_at, source_rank, removed) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (project_id, user_id) DO UPDATE SET source_at = EXCLUDED.source_at, source_rank = EXCLUDED.source_rank, removed = EXCLUDED.removed
       WHERE (gitlab_members.source_at, gitlab_members.source_rank) <= (EXCLUDED.source_at, EXCLUDED.source_rank)
       RETURNING project_id`,
      [projectId, userId, place.at, place.rank, removed],
    );
    return rows.length > 0;
  }

  private async projectDestroyed(manager: EntityManager, projectId: string): Promise<boolean> {
    const rows: { destroyed: boolean }[] = await manager.query(`SELECT destroyed FROM gitlab_projects WHERE project_id = $1`, [projectId]);
    return rows[0]?.destroyed === true;
  }
}

/** The place as events carry it, so that environments keeps GitLab's order too (see gitlabPlaceSchema). */
function placeOf(place: Place): GitLabPlace {
  return { at: place.at.toISOString(), rank: place.rank };
}
