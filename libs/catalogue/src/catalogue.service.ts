import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Launcher, LauncherV1, Project, ProjectMember } from '@launchpad/contracts';
import type { EntityManager } from 'typeorm';
import { LauncherView, MemberView, ProjectView } from './catalogue.entity.js';
import { CATALOGUE_OPTIONS, type CatalogueOptions } from './catalogue.options.js';

/**
 * Writes to the read model. Every write keeps the newest version it has seen, so an older event
 * arriving after a fresher copy (fetched at launch time) does not roll it back.
 */
@Injectable()
export class CatalogueService {
  private readonly tombstones: boolean;

  constructor(@Optional() @Inject(CATALOGUE_OPTIONS) options?: CatalogueOptions | null) {
    this.tombstones = options?.tombstones ?? false;
  }

  /** Keeps the copy (a launcher known to be deleted stays deleted, with tombstones). */
  async upsertLauncher(manager: EntityManager, l: Launcher | LauncherV1): Promise<void> {
    if (await this.isLauncherDeleted(manager, l.id)) return;
    await manager.query(
      `INSERT INTO catalogue_launchers (id, project_id, name, kind, environment, pin, resource_class_id, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET project_id = EXCLUDED.project_id, name = EXCLUDED.name, kind = EXCLUDED.kind,
         environment = EXCLUDED.environment, pin = EXCLUDED.pin, resource_class_id = EXCLUDED.resource_class_id, updated_at = EXCLUDED.updated_at
       WHERE catalogue_launchers.updated_at <= EXCLUDED.updated_at`,
      [l.id, l.projectId, l.name, l.kind, JSON.stringify(l.environment), 'pin' in l && l.pin ? JSON.stringify(l.pin) : null, l.resourceClassId, l.updatedAt],
    );
  }

  async deleteLauncher(manager: EntityManager, id: string): Promise<void> {
    await manager.delete(LauncherView, { id });
    if (this.tombstones) await manager.query(`INSERT INTO catalogue_deleted_launchers (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [id]);
  }

  /** Whether the launcher was deleted (always false without tombstones: see CatalogueOptions). */
  async isLauncherDeleted(manager: EntityManager, id: string): Promise<boolean> {
    if (!this.tombstones) return false;
    const rows: unknown[] = await manager.query(`SELECT 1 FROM catalogue_deleted_launchers WHERE id = $1`, [id]);
    return rows.length > 0;
  }

  /** A global environment changed: every launcher using it runs the new settings from its next start. */
  async updateEnvironment(manager: EntityManager, environment: Launcher['environment']): Promise<void> {
    await manager.query(`UPDATE catalogue_launchers SET environment = $2 WHERE environment->>'id' = $1`, [
      environment.id,
      JSON.stringify(environment),
    ]);
  }

  async upsertProject(manager: EntityManager, p: Omit<Project, 'repositories' | 'name' | 'createdAt'> & { repositories?: Project['repositories'] }): Promise<void> {
    await manager.query(
      `INSERT INTO catalogue_projects (id, path, visibility, repositories, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET path = EXCLUDED.path, visibility = EXCLUDED.visibility, repositories = EXCLUDED.repositories,
         updated_at = EXCLUDED.updated_at
       WHERE catalogue_projects.updated_at <= EXCLUDED.updated_at`,
      [p.id, p.path, p.visibility, JSON.stringify(p.repositories ?? []), p.updatedAt],
    );
  }

  async deleteProject(manager: EntityManager, id: string): Promise<void> {
    await manager.delete(ProjectView, { id });
    await manager.delete(MemberView, { projectId: id });
  }

  async setMember(manager: EntityManager, m: ProjectMember): Promise<void> {
    await manager.query(
      `INSERT INTO catalogue_members (project_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
      [m.projectId, m.userId, m.role],
    );
  }

  async removeMember(manager: EntityManager, projectId: string, userId: string): Promise<void> {
    await manager.delete(MemberView, { projectId, userId });
  }

  launcher(manager: EntityManager, id: string): Promise<LauncherView | null> {
    return manager.findOneBy(LauncherView, { id });
  }

  project(manager: EntityManager, id: string): Promise<ProjectView | null> {
    return manager.findOneBy(ProjectView, { id });
  }
}
