import { Injectable, Logger } from '@nestjs/common';
import { type GitLabMember, type GitLabPlace, type GitLabProject, type Repository, repositoryNameFromUrl } from '@launchpad/contracts';
import { advisoryLock } from '@launchpad/persistence';
import type { EntityManager } from 'typeorm';
import { gitlabUserLock, memberLock, projectLock } from '../locks.js';
import { ProjectEntity, ProjectMemberEntity } from '../projects/project.entity.js';
import { ProjectsService } from '../projects/projects.service.js';
import { GitLabPlaces } from './gitlab-places.js';

const GITLAB = 'gitlab';

/**
 * Applies what GitLab's system hooks said (as the builds service relays it) to the projects and
 * members projection, through the same writes (and events) as the admin API. Builds put the
 * changes in GitLab's order, but every replica here consumes one durable, so two changes of one
 * project or membership may be applied at once or out of order: each is applied only if its
 * place is not older than the last one applied to that project or membership (GitLabPlaces).
 * A renamed or destroyed user keeps a tombstone too: a change of their membership that GitLab
 * made before, delivered after, goes to the new name, or nowhere.
 */
@Injectable()
export class GitLabProjection {
  private readonly logger = new Logger(GitLabProjection.name);

  constructor(
    private readonly projects: ProjectsService,
    private readonly places: GitLabPlaces,
  ) {}

  /** project_create, project_rename, project_transfer, project_update. */
  async projectChanged(manager: EntityManager, change: GitLabProject): Promise<void> {
    // The project's lock before its row (the lock order, see locks.ts); writeProject takes it again.
    await advisoryLock(manager, projectLock(change.projectId));
    if (!(await this.places.advanceProject(manager, change.projectId, change.place, false))) return;
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

  /** project_destroy: final (GitLab never reuses project ids); a late change of the project or its members is older and dropped. */
  async projectDestroyed(manager: EntityManager, projectId: string, place?: GitLabPlace): Promise<void> {
    await advisoryLock(manager, projectLock(projectId));
    if (!(await this.places.advanceProject(manager, projectId, place, true))) return;
    await this.projects.deleteProject(manager, projectId, GITLAB);
  }

  /** user_add_to_team, user_update_for_team: the project is made from the hook if we never heard of it. */
  async memberSet(manager: EntityManager, change: GitLabMember): Promise<void> {
    const userId = await this.userNow(manager, change.userId, change.place);
    if (userId === null) return;
    const member = { ...change, userId };
    // The lock order (locks.ts): the project's, as the project may be made here, then the member's.
    await advisoryLock(manager, projectLock(member.projectId));
    await advisoryLock(manager, memberLock(member.projectId, member.userId));
    if (!(await this.places.advanceMember(manager, member.projectId, member.userId, member.place, false))) return;
    const exists = await manager.existsBy(ProjectEntity, { id: member.projectId });
    if (!exists) await this.projectChanged(manager, { ...member.project, previousRepositoryUrl: null });
    await this.projects.writeMember(manager, member.projectId, member.userId, member.role);
  }

  async memberRemoved(manager: EntityManager, projectId: string, named: string, place?: GitLabPlace): Promise<void> {
    const userId = await this.userNow(manager, named, place);
    if (userId === null) return;
    await advisoryLock(manager, memberLock(projectId, userId));
    if (!(await this.places.advanceMember(manager, projectId, userId, place, true))) return;
    await this.projects.deleteMember(manager, projectId, userId);
  }

  /**
   * user_rename: each membership of the old username becomes the new one's (unless it has one
   * there already), keeping the place it had, so that a later change of it, delivered late, still applies.
   */
  async userRenamed(manager: EntityManager, from: string, to: string, place?: GitLabPlace): Promise<void> {
    for (const name of [from, to].sort()) await advisoryLock(manager, gitlabUserLock(name));
    if (!(await this.places.advanceUser(manager, from, place, { renamedTo: to }))) return;
    const memberships = await manager.find(ProjectMemberEntity, { where: { userId: from }, order: { projectId: 'ASC' } });
    for (const m of memberships) {
      await advisoryLock(manager, memberLock(m.projectId, to));
      await advisoryLock(manager, memberLock(m.projectId, from));
      const moved = await this.places.advanceMember(manager, m.projectId, to, (await this.places.memberPlace(manager, m.projectId, from)) ?? place, false);
      if (moved && !(await manager.existsBy(ProjectMemberEntity, { projectId: m.projectId, userId: to }))) await this.projects.writeMember(manager, m.projectId, to, m.role);
      await this.places.endMembership(manager, m.projectId, from, place);
      await this.projects.deleteMember(manager, m.projectId, from);
    }
  }

  /** user_destroy: every membership of the user goes. */
  async userDestroyed(manager: EntityManager, userId: string, place?: GitLabPlace): Promise<void> {
    await advisoryLock(manager, gitlabUserLock(userId));
    if (!(await this.places.advanceUser(manager, userId, place, { destroyed: true }))) return;
    const memberships = await manager.find(ProjectMemberEntity, { where: { userId }, order: { projectId: 'ASC' } });
    for (const m of memberships) {
      await advisoryLock(manager, memberLock(m.projectId, userId));
      await this.places.endMembership(manager, m.projectId, userId, place);
      await this.projects.deleteMember(manager, m.projectId, userId);
    }
  }

  /**
   * Whose membership a change is about now (GitLabPlaces.currentUser), holding the user's lock
   * shared, so that a rename or destruction under way is waited for and then seen.
   */
  private async userNow(manager: EntityManager, userId: string, place: GitLabPlace | undefined): Promise<string | null> {
    await advisoryLock(manager, gitlabUserLock(userId), 'shared');
    const now = await this.places.currentUser(manager, userId, place);
    if (now === null || now === userId) return now;
    // Renamed since: the new name's lock too, and look again in case it moved on meanwhile.
    await advisoryLock(manager, gitlabUserLock(now), 'shared');
    return this.places.currentUser(manager, userId, place);
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
