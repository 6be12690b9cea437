import { Injectable } from '@nestjs/common';
import type { Launcher, LauncherV1, Project, ProjectMember } from '@launchpad/contracts';
import { type EntityManager, IsNull } from 'typeorm';
import { supersedesSql } from './apply-rule.js';
import { LauncherView, ProjectView } from './catalogue.entity.js';

/**
 * The user's role in the project as the read model has it, or null when they are not a member (or
 * were removed: a tombstone is no membership). Every read of membership goes through here.
 */
export async function memberRole(db: { query(sql: string, parameters: unknown[]): Promise<unknown> }, projectId: string, userId: string): Promise<string | null> {
  const rows = (await db.query(`SELECT role FROM catalogue_members WHERE project_id = $1 AND user_id = $2 AND role IS NOT NULL`, [projectId, userId])) as { role: string }[];
  return rows[0]?.role ?? null;
}

type ProjectCopy = Omit<Project, 'repositories' | 'name' | 'createdAt'> & { repositories?: Project['repositories'] };

/** The version of a launcher's embedded environment (0 when the copy is from before versions). */
const ENVIRONMENT_VERSION = (table: string) => `coalesce((${table}.environment->>'version')::bigint, 0)`;

/**
 * Writes to and reads from the read model. Every write follows the apply rule (apply-rule.ts):
 * one statement that changes the row only if what it brings is newer than what is held, so the
 * copies may come from events in any order, from two replicas at once, or from what environments
 * answered a moment ago (a launch keeping the launcher it was just given). Each write says
 * whether it applied, so that a service reacts to a removal only when it was news.
 */
@Injectable()
export class CatalogueService {
  /** Keeps the copy; a deleted launcher stays deleted. */
  async upsertLauncher(manager: EntityManager, l: Launcher | LauncherV1): Promise<boolean> {
    const { sql, params } = this.upsertLauncherStatement(l);
    const rows: unknown[] = await manager.query(sql, params);
    return rows.length > 0;
  }

  /** upsertLauncher's one statement, for a caller that runs it together with others (runTogether in libs/persistence). */
  upsertLauncherStatement(l: Launcher | LauncherV1): { sql: string; params: unknown[] } {
    // The environment inside is versioned on its own (environment.updated changes it alone):
    // within one environment, the newer of the held and the incoming copy is kept.
    return {
      sql: `INSERT INTO catalogue_launchers AS held (id, project_id, name, kind, environment, pin, resource_class_id, updated_at, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO UPDATE SET project_id = EXCLUDED.project_id, name = EXCLUDED.name, kind = EXCLUDED.kind,
         environment = CASE WHEN held.environment->>'id' = EXCLUDED.environment->>'id' AND ${ENVIRONMENT_VERSION('held')} > ${ENVIRONMENT_VERSION('EXCLUDED')}
                            THEN held.environment ELSE EXCLUDED.environment END,
         pin = EXCLUDED.pin, resource_class_id = EXCLUDED.resource_class_id, updated_at = EXCLUDED.updated_at, version = EXCLUDED.version
       WHERE held.deleted_at IS NULL AND ${supersedesSql({ timestamps: true })}
       RETURNING id`,
      params: [
        l.id,
        l.projectId,
        l.name,
        l.kind,
        JSON.stringify(l.environment),
        'pin' in l && l.pin ? JSON.stringify(l.pin) : null,
        l.resourceClassId,
        l.updatedAt,
        ('version' in l ? l.version : 0) ?? 0,
      ],
    };
  }

  /** Leaves the launcher's tombstone, final (launcher ids are never used again); true unless it was deleted already. */
  async deleteLauncher(manager: EntityManager, id: string, projectId: string | null = null): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO catalogue_launchers AS held (id, project_id, deleted_at) VALUES ($1, $2, now())
       ON CONFLICT (id) DO UPDATE SET name = NULL, kind = NULL, environment = NULL, pin = NULL, resource_class_id = NULL, deleted_at = now()
       WHERE held.deleted_at IS NULL
       RETURNING id`,
      [id, projectId],
    );
    return rows.length > 0;
  }

  async isLauncherDeleted(manager: EntityManager, id: string): Promise<boolean> {
    const rows: unknown[] = await manager.query(`SELECT 1 FROM catalogue_launchers WHERE id = $1 AND deleted_at IS NOT NULL`, [id]);
    return rows.length > 0;
  }

  /** A global environment changed: every launcher using it runs the new settings from its next start (unless it holds a newer copy). */
  async updateEnvironment(manager: EntityManager, environment: Launcher['environment']): Promise<void> {
    await manager.query(
      `UPDATE catalogue_launchers AS held SET environment = $2
       WHERE held.deleted_at IS NULL AND held.environment->>'id' = $1
         AND (${ENVIRONMENT_VERSION('held')} < $3 OR ($3 = 0 AND ${ENVIRONMENT_VERSION('held')} = 0))`,
      [environment.id, JSON.stringify(environment), environment.version ?? 0],
    );
  }

  async upsertProject(manager: EntityManager, p: ProjectCopy): Promise<boolean> {
    const { sql, params } = this.upsertProjectStatement(p);
    const rows: unknown[] = await manager.query(sql, params);
    return rows.length > 0;
  }

  /** upsertProject's one statement, for a caller that runs it together with others. */
  upsertProjectStatement(p: ProjectCopy): { sql: string; params: unknown[] } {
    return {
      sql: `INSERT INTO catalogue_projects AS held (id, path, visibility, repositories, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET path = EXCLUDED.path, visibility = EXCLUDED.visibility, repositories = EXCLUDED.repositories,
         updated_at = EXCLUDED.updated_at, version = EXCLUDED.version, deleted_at = NULL
       WHERE ${supersedesSql({ timestamps: true })}
       RETURNING id`,
      params: [p.id, p.path, p.visibility, JSON.stringify(p.repositories ?? []), p.updatedAt, p.version ?? 0],
    };
  }

  /**
   * Leaves the project's tombstone with the deletion's version (0 for project.deleted v1, which
   * has none; `at` is then its time, compared with the held copy's updatedAt by the apply rule).
   * Its members go by their own member-removed events; after a v1 deletion, which had none, the
   * memberships held from before versions are removed here, as they were then.
   */
  async deleteProject(manager: EntityManager, id: string, version: number, at: string): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO catalogue_projects AS held (id, path, visibility, repositories, updated_at, version, deleted_at) VALUES ($1, NULL, NULL, '[]', $2, $3, $2)
       ON CONFLICT (id) DO UPDATE SET path = NULL, visibility = NULL, repositories = '[]', updated_at = EXCLUDED.updated_at,
         version = EXCLUDED.version, deleted_at = EXCLUDED.deleted_at
       WHERE ${supersedesSql({ timestamps: true })}
       RETURNING id`,
      [id, at, version],
    );
    if (version === 0) await manager.query(`UPDATE catalogue_members SET role = NULL WHERE project_id = $1 AND version = 0`, [id]);
    return rows.length > 0;
  }

  /** Keeps the membership; true if it was newer than what was held. */
  async setMember(manager: EntityManager, m: Pick<ProjectMember, 'projectId' | 'userId' | 'role' | 'version'>): Promise<boolean> {
    return this.writeMember(manager, m.projectId, m.userId, m.role, m.version);
  }

  /**
   * Leaves the membership's tombstone (version 0 for member-removed v1, which has none); true if
   * the removal was newer than what was held, i.e. the member really is out as far as we know.
   */
  async removeMember(manager: EntityManager, projectId: string, userId: string, version: number): Promise<boolean> {
    return this.writeMember(manager, projectId, userId, null, version);
  }

  private async writeMember(manager: EntityManager, projectId: string, userId: string, role: string | null, version: number): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO catalogue_members AS held (project_id, user_id, role, version) VALUES ($1, $2, $3, $4)
       ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role, version = EXCLUDED.version
       WHERE ${supersedesSql({ timestamps: false })}
       RETURNING project_id`,
      [projectId, userId, role, version],
    );
    return rows.length > 0;
  }

  role(manager: EntityManager, projectId: string, userId: string): Promise<string | null> {
    return memberRole(manager, projectId, userId);
  }

  launcher(manager: EntityManager, id: string): Promise<LauncherView | null> {
    return manager.findOneBy(LauncherView, { id, deletedAt: IsNull() });
  }

  project(manager: EntityManager, id: string): Promise<ProjectView | null> {
    return manager.findOneBy(ProjectView, { id, deletedAt: IsNull() });
  }
}
