import { Injectable, Logger } from '@nestjs/common';
import { type GitLabMember, type GitLabProject, type Repository, repositoryNameFromUrl } from '@launchpad/contracts';
import { advisoryLock } from '@launchpad/persistence';
import type { EntityManager } from 'typeorm';
import { projectLock } from '../locks.js';
import { ProjectEntity, ProjectMemberEntity } from '../projects/project.entity.js';
import { ProjectsService } from '../projects/projects.service.js';

const GITLAB = 'gitlab';

/**
 * Applies what GitLab's system hooks said (as the builds service relays it) to the projects and
 * members projection, through the same writes (and events) as the admin API.
 */
@Injectable()
export class GitLabProjection {
  private readonly logger = new Logger(GitLabProjection.name);

  constructor(private readonly projects: ProjectsService) {}

  /** project_create, project_rename, project_transfer, project_update. */
  async projectChanged(manager: EntityManager, change: GitLabProject): Promise<void> {
    // The project's lock before its row (the lock order, see locks.ts); writeProject takes it again.
    await advisoryLock(manager, projectLock(change.projectId));
    const existing = await manager.findOne(ProjectEntity, { where: { id: change.projectId }, lock: { mode: 'pessimistic_write' } });
    const repositories = existing?.repositories ?? [];
    await this.projects.writeProject(manager, change.projectId, {
      path: change.path,
      name: change.name,
      visibility: change.visibility,
      // A GitLab that the runtimes may not clone from (REPOSITORY_HOSTS) gives the project no repository.
      repositories: this.projects.repositoryAllowed(change.repositoryUrl)
        ? withGitLabRepository(repositories, change.repositoryUrl, change.previousRepositoryUrl)
        : repositories.filter((r) => r.url !== change.repositoryUrl && r.url !== change.previousRepositoryUrl),
    });
    if (!this.projects.repositoryAllowed(change.repositoryUrl)) {
      this.logger.warn(`project ${change.path} (${change.projectId}): its GitLab repository ${change.repositoryUrl} is not one this installation clones (REPOSITORY_HOSTS); left out`);
    }
  }

  async projectDestroyed(manager: EntityManager, projectId: string): Promise<void> {
    await this.projects.deleteProject(manager, projectId, GITLAB);
  }

  /** user_add_to_team, user_update_for_team: the project is made from the hook if we never heard of it. */
  async memberSet(manager: EntityManager, member: GitLabMember): Promise<void> {
    const exists = await manager.existsBy(ProjectEntity, { id: member.projectId });
    if (!exists) await this.projectChanged(manager, { ...member.project, previousRepositoryUrl: null });
    await this.projects.writeMember(manager, member.projectId, member.userId, member.role);
  }

  async memberRemoved(manager: EntityManager, projectId: string, userId: string): Promise<void> {
    await this.projects.deleteMember(manager, projectId, userId);
  }

  /** user_rename: each membership of the old username becomes the new one's (unless it has one there already). */
  async userRenamed(manager: EntityManager, from: string, to: string): Promise<void> {
    const memberships = await manager.find(ProjectMemberEntity, { where: { userId: from }, order: { projectId: 'ASC' } });
    for (const m of memberships) {
      if (!(await manager.existsBy(ProjectMemberEntity, { projectId: m.projectId, userId: to }))) await this.projects.writeMember(manager, m.projectId, to, m.role);
      await this.projects.deleteMember(manager, m.projectId, from);
    }
  }

  /** user_destroy: every membership of the user goes. */
  async userDestroyed(manager: EntityManager, userId: string): Promise<void> {
    const memberships = await manager.find(ProjectMemberEntity, { where: { userId }, order: { projectId: 'ASC' } });
    for (const m of memberships) await this.projects.deleteMember(manager, m.projectId, userId);
  }
}

/**
 * The project's repositories with its GitLab repository first and current: a rename replaces the
 * old URL in place; repositories an admin added by hand stay.
 */
export function withGitLabRepository(repositories: Repository[], url: string, previousUrl: string | null): Repository[] {
  const others = repositories.filter((r) => r.url !== url && r.url !== previousUrl);
  const index = repositories.findIndex((r) => r.url === url || r.url === previousUrl);
  let name = repositoryNameFromUrl(url);
  if (others.some((r) => r.name === name)) name = `${name}-gitlab`;
  const next = [...others];
  next.splice(index < 0 ? 0 : Math.min(index, next.length), 0, { url, name });
  return next;
}
