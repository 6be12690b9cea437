import { Inject, Injectable } from '@nestjs/common';
import {
  EnvironmentsError,
  EnvironmentsErrorCode,
  launcherDeletedV1,
  projectDeletedV2,
  projectMemberRemovedV2,
  projectMemberSetV1,
  projectUpsertedV2,
  type Principal,
  type Project,
  type ProjectMember,
  type ProjectRole,
  type RepositoryUrlPolicy,
} from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import { advisoryLock } from '@launchpad/persistence';
import { DataSource, type EntityManager } from 'typeorm';
import { launchersLock, memberLock, projectLock } from '../locks.js';
import { takeRowVersion } from '../row-version.js';
import { canReadProject } from './project-access.js';
import { ProjectEntity, ProjectMemberEntity, toMember, toProject } from './project.entity.js';
import { REPOSITORY_POLICY, repositoryProblems } from './repository-policy.js';

export interface ProjectAccess {
  project: ProjectEntity;
  role: ProjectRole | null;
}

export function requireAdmin(caller: Principal, action: string): void {
  if (!caller.admin) throw new EnvironmentsError(EnvironmentsErrorCode.ADMIN_REQUIRED, `only administrators can ${action}`);
}

@Injectable()
export class ProjectsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    @Inject(REPOSITORY_POLICY) private readonly repositoryPolicy: RepositoryUrlPolicy,
  ) {}

  /**
   * The project and the caller's role in it. A project the caller may not read is reported as
   * not found, so that private projects do not leak their existence.
   */
  async access(projectId: string, caller: Principal, manager: EntityManager = this.dataSource.manager): Promise<ProjectAccess> {
    // The project and the caller's membership in one statement: every launch, and most requests, ask.
    const { entities, raw } = await manager
      .createQueryBuilder(ProjectEntity, 'p')
      .leftJoin(ProjectMemberEntity, 'm', 'm.project_id = p.id AND m.user_id = :userId', { userId: caller.userId })
      .addSelect('m.role', 'member_role')
      .where('p.id = :projectId', { projectId })
      .getRawAndEntities<{ member_role: ProjectRole | null }>();
    const project = entities[0];
    const role = raw[0]?.member_role ?? null;
    if (!project || !canReadProject(project, role, caller)) {
      throw new EnvironmentsError(EnvironmentsErrorCode.PROJECT_NOT_FOUND, `project ${projectId} was not found, or you are not a member of it`);
    }
    return { project, role };
  }

  async list(caller: Principal): Promise<Project[]> {
    const rows = caller.admin
      ? await this.dataSource.getRepository(ProjectEntity).find({ order: { path: 'ASC' } })
      : await this.dataSource
          .getRepository(ProjectEntity)
          .createQueryBuilder('p')
          .where(`p.visibility <> 'private'`)
          .orWhere(`EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = :userId)`, { userId: caller.userId })
          .orderBy('p.path', 'ASC')
          .getMany();
    return rows.map(toProject);
  }

  async get(projectId: string, caller: Principal): Promise<Project & { role: ProjectRole | null }> {
    const { project, role } = await this.access(projectId, caller);
    return { ...toProject(project), role };
  }

  async upsert(projectId: string, input: Pick<Project, 'path' | 'name' | 'visibility' | 'repositories'>, caller: Principal): Promise<Project> {
    requireAdmin(caller, 'register or change projects');
    const problems = repositoryProblems(input.repositories, this.repositoryPolicy);
    if (problems.length > 0) {
      const what = problems.length === 1 ? 'a repository this installation will not clone' : `${problems.length} repositories this installation will not clone`;
      throw new EnvironmentsError(EnvironmentsErrorCode.REPOSITORY_NOT_ALLOWED, `the project names ${what}: ${problems.map((p) => p.message).join('; ')}`, problems);
    }
    return this.outbox.transaction((manager) => this.writeProject(manager, projectId, input));
  }

  /**
   * Whether the runtimes would clone `url` (the GitLab projection keeps a GitLab repository out
   * of a project when they would not, rather than have every session fail on it).
   */
  repositoryAllowed(url: string): boolean {
    return repositoryProblems([{ url }], this.repositoryPolicy).length === 0;
  }

  /** Creates or replaces a project in the caller's transaction, with its event. No authorisation: callers decide. */
  async writeProject(manager: EntityManager, projectId: string, input: Pick<Project, 'path' | 'name' | 'visibility' | 'repositories'>): Promise<Project> {
    // One at a time with the project's deletion: made again after it, the row's version is newer.
    await advisoryLock(manager, projectLock(projectId));
    await manager.query(
      `INSERT INTO projects (id, path, name, visibility, repositories) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET path = EXCLUDED.path, name = EXCLUDED.name, visibility = EXCLUDED.visibility,
         repositories = EXCLUDED.repositories, updated_at = now()`,
      [projectId, input.path, input.name, input.visibility, JSON.stringify(input.repositories)],
    );
    const project = toProject(await manager.findOneByOrFail(ProjectEntity, { id: projectId }));
    await this.outbox.append(manager, projectUpsertedV2, project);
    return project;
  }

  async listMembers(projectId: string, caller: Principal): Promise<ProjectMember[]> {
    await this.access(projectId, caller);
    const rows = await this.dataSource.getRepository(ProjectMemberEntity).find({ where: { projectId }, order: { userId: 'ASC' } });
    return rows.map(toMember);
  }

  async setMember(projectId: string, userId: string, role: ProjectRole, caller: Principal): Promise<ProjectMember> {
    requireAdmin(caller, 'change project members');
    return this.outbox.transaction(async (manager) => {
      await this.access(projectId, caller, manager);
      return this.writeMember(manager, projectId, userId, role);
    });
  }

  /** Sets a member's role in the caller's transaction, with its event. No authorisation: callers decide. */
  async writeMember(manager: EntityManager, projectId: string, userId: string, role: ProjectRole): Promise<ProjectMember> {
    // One at a time with the member's removal: added again after it, the row's version is newer.
    await advisoryLock(manager, memberLock(projectId, userId));
    await manager.query(
      `INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role, updated_at = now()`,
      [projectId, userId, role],
    );
    const saved = toMember(await manager.findOneByOrFail(ProjectMemberEntity, { projectId, userId }));
    await this.outbox.append(manager, projectMemberSetV1, saved);
    return saved;
  }

  async removeMember(projectId: string, userId: string, caller: Principal): Promise<void> {
    requireAdmin(caller, 'change project members');
    await this.outbox.transaction(async (manager) => {
      await this.access(projectId, caller, manager);
      await this.deleteMember(manager, projectId, userId);
    });
  }

  /**
   * Removes a member in the caller's transaction, with its event when there was one: the event
   * carries a version taken after the row's removal, newer than any the membership had, for the
   * read models' tombstones.
   */
  async deleteMember(manager: EntityManager, projectId: string, userId: string): Promise<void> {
    await advisoryLock(manager, memberLock(projectId, userId));
    await this.removeMemberRow(manager, projectId, userId);
  }

  private async removeMemberRow(manager: EntityManager, projectId: string, userId: string): Promise<void> {
    const result = await manager.delete(ProjectMemberEntity, { projectId, userId });
    if (result.affected) await this.outbox.append(manager, projectMemberRemovedV2, { projectId, userId, version: await takeRowVersion(manager) });
  }

  /**
   * Deletes a project and everything of it (launchers with their own environments, members,
   * builds), in the caller's transaction: each launcher with launcher.deleted, each member with
   * member-removed, then project.deleted with the deletion's version.
   */
  async deleteProject(manager: EntityManager, projectId: string, deletedBy: string): Promise<boolean> {
    await advisoryLock(manager, projectLock(projectId));
    // Before any row: its launchers and builds go below, which a build's consumer also writes
    // (under this lock, then those rows): taken later, the two could each hold what the other waits for.
    await advisoryLock(manager, launchersLock(projectId));
    // Locked, the project takes no new member (the insert's foreign key check waits, then fails).
    const project = await manager.findOne(ProjectEntity, { where: { id: projectId }, lock: { mode: 'pessimistic_write' } });
    if (!project) return false;
    const launchers: { id: string }[] = await manager.query(`SELECT id FROM launchers WHERE project_id = $1 ORDER BY created_at`, [projectId]);
    await manager.query(`DELETE FROM launchers WHERE project_id = $1`, [projectId]);
    for (const { id } of launchers) await this.outbox.append(manager, launcherDeletedV1, { id, projectId, deletedBy });
    await manager.query(`DELETE FROM environments WHERE project_id = $1 AND kind <> 'global'`, [projectId]);
    await manager.query(`DELETE FROM project_builds WHERE project_id = $1`, [projectId]);
    // Each member explicitly (rather than by the foreign key's cascade), so read models keep a
    // tombstone of each membership, and services react to it as to any removal. No member lock:
    // with the project's row locked, no member can be added meanwhile (and taking it now, after a
    // row lock, would break the lock order).
    const members = await manager.find(ProjectMemberEntity, { where: { projectId }, order: { userId: 'ASC' } });
    for (const m of members) await this.removeMemberRow(manager, projectId, m.userId);
    await manager.delete(ProjectEntity, { id: projectId });
    await this.outbox.append(manager, projectDeletedV2, { id: projectId, deletedBy, version: await takeRowVersion(manager) });
    return true;
  }
}
