import { PROJECT_ROLES, type Principal, type ProjectRole } from '@launchpad/contracts';

export interface ProjectView {
  id: string;
  path: string;
  visibility: 'private' | 'internal' | 'public';
}

/** GitLab's rule: private projects are for members; internal and public ones for every signed-in user. */
export function canReadProject(project: ProjectView, role: ProjectRole | null, caller: Principal): boolean {
  return caller.admin || role !== null || project.visibility !== 'private';
}

export function hasRoleAtLeast(role: ProjectRole | null, needed: ProjectRole): boolean {
  return role !== null && PROJECT_ROLES.indexOf(role) >= PROJECT_ROLES.indexOf(needed);
}

/** Creating, editing and deleting launchers needs developer or above (GitLab's "write" roles). */
export function canEditLaunchers(role: ProjectRole | null, caller: Principal): boolean {
  return caller.admin || hasRoleAtLeast(role, 'developer');
}
