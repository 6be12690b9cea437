import { PROJECT_ROLES, type Principal, type ProjectRole } from '@launchpad/contracts';

/** GitLab's roles compare in order: guest < reporter < developer < maintainer < owner. */
export function hasRoleAtLeast(role: string | null | undefined, needed: ProjectRole): boolean {
  const index = PROJECT_ROLES.indexOf(role as ProjectRole);
  return index >= 0 && index >= PROJECT_ROLES.indexOf(needed);
}

/** Running and changing what a project runs (launchers, apps) needs developer or above, or admin. */
export function canOperate(role: string | null | undefined, caller: Principal): boolean {
  return caller.admin || hasRoleAtLeast(role, 'developer');
}
