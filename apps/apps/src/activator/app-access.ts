import type { AppAccess, Principal } from '@launchpad/contracts';

export interface AccessRule {
  access: AppAccess;
  visibility: 'private' | 'internal' | 'public';
}

/** Whether the rule can be decided without knowing the caller's role in the project. */
export function needsMembership(rule: AccessRule, caller: Principal | null): boolean {
  if (!caller || caller.admin) return false;
  return !(rule.access === 'public' && rule.visibility !== 'private');
}

/**
 * Who may open an app's share link. `public` apps follow their project as GitLab does (a public
 * project: anyone, signed in or not; internal: anyone signed in; private: its members); `members`
 * apps are for signed-in members of the project only, whatever its visibility. Admins open all.
 */
export function mayOpen(rule: AccessRule, caller: Principal | null, role: string | null): boolean {
  if (caller?.admin) return true;
  if (rule.access === 'public' && rule.visibility === 'public') return true;
  if (!caller) return false;
  if (rule.access === 'public' && rule.visibility === 'internal') return true;
  return role !== null;
}
