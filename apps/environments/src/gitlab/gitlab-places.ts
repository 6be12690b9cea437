import { Injectable } from '@nestjs/common';
import type { GitLabPlace } from '@launchpad/contracts';
import type { EntityManager } from 'typeorm';

/**
 * GitLab's order of changes to each project and membership (table gitlab_*_places). Each advance
 * is one statement that moves the place forward only if the change is not older, so two replicas
 * racing on one key serialise on its row, and the later one sees what the earlier one applied.
 * A change without a place (an event from before places) is applied as it comes, as then.
 */
@Injectable()
export class GitLabPlaces {
  /** False when the change is older than the project's last, or the project was destroyed (GitLab never reuses ids: final). */
  async advanceProject(manager: EntityManager, projectId: string, place: GitLabPlace | undefined, destroyed: boolean): Promise<boolean> {
    if (!place) return !(await this.projectDestroyed(manager, projectId));
    const rows: unknown[] = await manager.query(
      `INSERT INTO gitlab_project_places AS held (project_id, source_at, source_rank, destroyed) VALUES ($1, $2, $3, $4)
       ON CONFLICT (project_id) DO UPDATE SET source_at = EXCLUDED.source_at, source_rank = EXCLUDED.source_rank, destroyed = EXCLUDED.destroyed
       WHERE NOT held.destroyed AND (held.source_at, held.source_rank) <= (EXCLUDED.source_at, EXCLUDED.source_rank)
       RETURNING project_id`,
      [projectId, place.at, place.rank, destroyed],
    );
    return rows.length > 0;
  }

  /** False when the change is older than the membership's last (a removal, a later role), or the project was destroyed. */
  async advanceMember(manager: EntityManager, projectId: string, userId: string, place: GitLabPlace | undefined, removed: boolean): Promise<boolean> {
    if (await this.projectDestroyed(manager, projectId)) return false;
    if (!place) return true;
    const rows: unknown[] = await manager.query(
      `INSERT INTO gitlab_member_places AS held (project_id, user_id, source_at, source_rank, removed) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (project_id, user_id) DO UPDATE SET source_at = EXCLUDED.source_at, source_rank = EXCLUDED.source_rank, removed = EXCLUDED.removed
       WHERE (held.source_at, held.source_rank) <= (EXCLUDED.source_at, EXCLUDED.source_rank)
       RETURNING project_id`,
      [projectId, userId, place.at, place.rank, removed],
    );
    return rows.length > 0;
  }

  /** user_destroy: final whatever its place; a membership added before it, delivered late, is older still. */
  async endMembership(manager: EntityManager, projectId: string, userId: string, place: GitLabPlace | undefined): Promise<void> {
    if (!place) return;
    await manager.query(
      `INSERT INTO gitlab_member_places AS held (project_id, user_id, source_at, source_rank, removed) VALUES ($1, $2, $3, $4, true)
       ON CONFLICT (project_id, user_id) DO UPDATE SET source_at = greatest(held.source_at, EXCLUDED.source_at), source_rank = EXCLUDED.source_rank, removed = true`,
      [projectId, userId, place.at, place.rank],
    );
  }

  /** user_rename, user_destroy: the user's place moves forward (a destroyed user's is final); false when older than what is known. */
  async advanceUser(manager: EntityManager, userId: string, place: GitLabPlace | undefined, end: { renamedTo: string } | { destroyed: true }): Promise<boolean> {
    if (!place) return true;
    const rows: unknown[] = await manager.query(
      `INSERT INTO gitlab_user_places AS held (user_id, source_at, source_rank, renamed_to, destroyed) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (user_id) DO UPDATE SET source_at = EXCLUDED.source_at, source_rank = EXCLUDED.source_rank,
         renamed_to = EXCLUDED.renamed_to, destroyed = EXCLUDED.destroyed
       WHERE NOT held.destroyed AND (held.source_at, held.source_rank) <= (EXCLUDED.source_at, EXCLUDED.source_rank)
       RETURNING user_id`,
      [userId, place.at, place.rank, 'renamedTo' in end ? end.renamedTo : null, 'destroyed' in end],
    );
    return rows.length > 0;
  }

  /**
   * Whose membership a change made at `place` is about: the user it names, or, if GitLab renamed
   * that user after the change, the user's new name (following renames on), or nobody (null) if
   * GitLab destroyed the user after it. A change without a place is about the user it names.
   */
  async currentUser(manager: EntityManager, userId: string, place: GitLabPlace | undefined): Promise<string | null> {
    if (!place) return userId;
    let user = userId;
    for (let hops = 0; hops < 20; hops++) {
      const rows: { renamed_to: string | null; destroyed: boolean }[] = await manager.query(
        `SELECT renamed_to, destroyed FROM gitlab_user_places WHERE user_id = $1 AND (source_at, source_rank) >= ($2::timestamptz, $3::integer)`,
        [user, place.at, place.rank],
      );
      const row = rows[0];
      if (!row) return user;
      if (row.destroyed) return null;
      if (row.renamed_to === null) return user;
      user = row.renamed_to;
    }
    return user;
  }

  /** The place of the last change applied to the membership, if any. */
  async memberPlace(manager: EntityManager, projectId: string, userId: string): Promise<GitLabPlace | undefined> {
    const rows: { at: Date; rank: number }[] = await manager.query(
      `SELECT source_at AS at, source_rank AS rank FROM gitlab_member_places WHERE project_id = $1 AND user_id = $2`,
      [projectId, userId],
    );
    const row = rows[0];
    return row ? { at: row.at.toISOString(), rank: row.rank } : undefined;
  }

  private async projectDestroyed(manager: EntityManager, projectId: string): Promise<boolean> {
    const rows: { destroyed: boolean }[] = await manager.query(`SELECT destroyed FROM gitlab_project_places WHERE project_id = $1`, [projectId]);
    return rows[0]?.destroyed === true;
  }
}
