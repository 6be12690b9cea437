import { Injectable } from '@nestjs/common';
import {
  EnvironmentsError,
  EnvironmentsErrorCode,
  projectMemberRemovedV1,
  projectMemberSetV1,
  projectUpsertedV2,
  type Principal,
  type Project,
  type ProjectMember,
  type ProjectRole,
} from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import { DataSource, type EntityManager } from 'typeorm';
import { canReadProject } from './project-access.js';
import { ProjectEntity, ProjectMemberEntity, toMember, toProject } from './project.entity.js';

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
  ) {}

  /**
   * The project and the caller's role in it. A project the caller may not read is reported as
   * not found, so that private projects do not leak their existence.
   */
  async access(projectId: string, caller: Principal, manager: EntityManager = this.dataSource.manager): Promise<ProjectAccess> {
    const project = await manager.findOneBy(ProjectEntity, { id: projectId });
    const member = project ? await manager.findOneBy(ProjectMemberEntity, { projectId, userId: caller.userId }) : null;
    const role = member?.role ?? null;
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
    const project = await this.outbox.transaction(async (manager) => {
      const [row] = await manager.query(
        `INSERT INTO projects (id, path, name, visibility, repositories) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET path = EXCLUDED.path, name = EXCLUDED.name, visibility = EXCLUDED.visibility,
           repositories = EXCLUDED.repositories, updated_at = now()
         RETURNING id`,
        [projectId, input.path, input.name, input.visibility, JSON.stringify(input.repositories)],
      );
      const saved = await manager.findOneByOrFail(ProjectEntity, { id: (row as { id: string }).id });
      await this.outbox.append(manager, projectUpsertedV2, toProject(saved));
      return saved;
    });
    return toProject(project);
  }

  async listMembers(projectId: string, caller: Principal): Promise<ProjectMember[]> {
    await this.access(projectId, caller);
    const rows = await this.dataSource.getRepository(ProjectMemberEntity).find({ where: { projectId }, order: { userId: 'ASC' } });
    return rows.map(toMember);
  }

  async setMember(projectId: string, userId: string, role: ProjectRole, caller: Principal): Promise<ProjectMember> {
    requireAdmin(caller, 'change project members');
    const member = await this.outbox.transaction(async (manager) => {
      await this.access(projectId, caller, manager);
      await manager.query(
        `INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role, updated_at = now()`,
        [projectId, userId, role],
      );
      const saved = toMember(await manager.findOneByOrFail(ProjectMemberEntity, { projectId, userId }));
      await this.outbox.append(manager, projectMemberSetV1, saved);
      return saved;
    });
    return member;
  }

  async removeMember(projectId: string, userId: string, caller: Principal): Promise<void> {
    requireAdmin(caller, 'change project members');
    await this.outbox.transaction(async (manager) => {
      await this.access(projectId, caller, manager);
      const result = await manager.delete(ProjectMemberEntity, { projectId, userId });
      if (result.affected) await this.outbox.append(manager, projectMemberRemovedV1, { projectId, userId });
    });
  }
}
