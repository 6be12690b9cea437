import type { ProjectRole } from '@launchpad/contracts';
import { z } from 'zod';
import { GITLAB_PATH } from '../builds/gitlab-url.js';

/**
 * GitLab's system hooks (doc/administration/system_hooks.md) about projects, their members and
 * users (renamed, destroyed), read into projection changes. Each change has a place in GitLab's order — the hook's
 * `updated_at`, then a rank for changes of the same second (create < update/rename < destroy;
 * add < update < remove) — so that deliveries that arrive late or out of order cannot undo a newer one.
 */
const gitlabId = z.number().int().nonnegative();
// The repository URL is <GITLAB_URL>/<path>.git: a path that is not GitLab's could lead it elsewhere.
const projectPath = z.string().regex(GITLAB_PATH, { message: 'must be a GitLab project path such as group/project' });
const visibility = z.enum(['private', 'internal', 'public']);

const projectHook = z.looseObject({
  event_name: z.enum(['project_create', 'project_rename', 'project_transfer', 'project_update', 'project_destroy']),
  project_id: gitlabId,
  name: z.string().min(1),
  path_with_namespace: projectPath,
  project_visibility: visibility,
  old_path_with_namespace: projectPath.nullish(),
  updated_at: z.string().nullish(),
});

const memberHook = z.looseObject({
  event_name: z.enum(['user_add_to_team', 'user_update_for_team', 'user_remove_from_team']),
  project_id: gitlabId,
  project_name: z.string().min(1),
  project_path_with_namespace: projectPath,
  project_visibility: visibility,
  access_level: z.union([z.string(), z.number()]),
  user_id: gitlabId,
  user_username: z.string().min(1),
  updated_at: z.string().nullish(),
});

const userHook = z.looseObject({
  event_name: z.enum(['user_rename', 'user_destroy']),
  user_id: gitlabId,
  username: z.string().min(1),
  old_username: z.string().min(1).nullish(),
  updated_at: z.string().nullish(),
});

export const PROJECT_EVENTS = new Set(['project_create', 'project_rename', 'project_transfer', 'project_update', 'project_destroy']);
export const MEMBER_EVENTS = new Set(['user_add_to_team', 'user_update_for_team', 'user_remove_from_team']);
export const USER_EVENTS = new Set(['user_rename', 'user_destroy']);

/**
 * GitLab's access levels to our roles. System hooks spell them as words (`"Maintainer"`), the API
 * as numbers (10 guest, 15 planner, 20 reporter, 30 developer, 40 maintainer, 50 owner; 5 is
 * minimal access). A planner may read like a guest; minimal access is no project access (null).
 * Unknown levels are undefined, so the caller can refuse them rather than guess.
 */
export function roleForAccessLevel(level: string | number): ProjectRole | null | undefined {
  const key = typeof level === 'number' ? level : level.trim().toLowerCase();
  switch (key) {
    case 5:
    case 'minimal access':
      return null;
    case 10:
    case 'guest':
    case 15:
    case 'planner':
      return 'guest';
    case 20:
    case 'reporter':
      return 'reporter';
    case 30:
    case 'developer':
      return 'developer';
    case 40:
    case 'maintainer':
      return 'maintainer';
    case 50:
    case 'owner':
      return 'owner';
    default:
      return undefined;
  }
}

export interface Place {
  at: Date;
  rank: number;
}

export type ProjectionChange =
  | {
      kind: 'project';
      event: 'created' | 'renamed';
      projectId: string;
      path: string;
      name: string;
      visibility: 'private' | 'internal' | 'public';
      previousPath: string | null;
      place: Place;
    }
  | { kind: 'project-destroyed'; projectId: string; path: string; place: Place }
  | {
      kind: 'member';
      event: 'added' | 'updated';
      projectId: string;
      userId: string;
      role: ProjectRole;
      project: { path: string; name: string; visibility: 'private' | 'internal' | 'public' };
      place: Place;
    }
  | { kind: 'member-removed'; projectId: string; userId: string; place: Place }
  /** user_rename, with members named by username: `from`'s memberships are `to`'s. */
  | { kind: 'user-renamed'; from: string; to: string; place: Place }
  /** user_destroy: every membership of the user goes. */
  | { kind: 'user-destroyed'; userId: string; place: Place };

export type SystemHookMeaning = { kind: 'projection'; change: ProjectionChange } | { kind: 'ignored'; reason: string };

const placeOf = (updatedAt: string | null | undefined, rank: number, now: Date): Place => {
  const at = updatedAt ? new Date(updatedAt) : now;
  return { at: Number.isNaN(at.getTime()) ? now : at, rank };
};

/** Which user id members get: GitLab's username (what OIDC tokens usually carry as `sub` or `preferred_username`) or numeric id. */
export type MemberIdentity = 'username' | 'id';

export function readSystemHook(body: Record<string, unknown>, identity: MemberIdentity, now = new Date()): SystemHookMeaning {
  const event = typeof body.event_name === 'string' ? body.event_name : '';
  if (PROJECT_EVENTS.has(event)) {
    const hook = projectHook.parse(body);
    const projectId = String(hook.project_id);
    if (hook.event_name === 'project_destroy') {
      return { kind: 'projection', change: { kind: 'project-destroyed', projectId, path: hook.path_with_namespace, place: placeOf(hook.updated_at, 2, now) } };
    }
    const created = hook.event_name === 'project_create';
    return {
      kind: 'projection',
      change: {
        kind: 'project',
        event: created ? 'created' : 'renamed',
        projectId,
        path: hook.path_with_namespace,
        name: hook.name,
        visibility: hook.project_visibility,
        previousPath: hook.old_path_with_namespace ?? null,
        place: placeOf(hook.updated_at, created ? 0 : 1, now),
      },
    };
  }
  if (MEMBER_EVENTS.has(event)) {
    const hook = memberHook.parse(body);
    const projectId = String(hook.project_id);
    const userId = identity === 'id' ? String(hook.user_id) : hook.user_username;
    const role = roleForAccessLevel(hook.access_level);
    if (hook.event_name === 'user_remove_from_team' || role === null) {
      return { kind: 'projection', change: { kind: 'member-removed', projectId, userId, place: placeOf(hook.updated_at, 2, now) } };
    }
    if (role === undefined) return { kind: 'ignored', reason: `access level ${JSON.stringify(hook.access_level)} is not one we know; the membership is unchanged` };
    const added = hook.event_name === 'user_add_to_team';
    return {
      kind: 'projection',
      change: {
        kind: 'member',
        event: added ? 'added' : 'updated',
        projectId,
        userId,
        role,
        project: { path: hook.project_path_with_namespace, name: hook.project_name, visibility: hook.project_visibility },
        place: placeOf(hook.updated_at, added ? 0 : 1, now),
      },
    };
  }
  if (USER_EVENTS.has(event)) {
    const hook = userHook.parse(body);
    if (hook.event_name === 'user_destroy') {
      const userId = identity === 'id' ? String(hook.user_id) : hook.username;
      return { kind: 'projection', change: { kind: 'user-destroyed', userId, place: placeOf(hook.updated_at, 2, now) } };
    }
    if (identity === 'id') return { kind: 'ignored', reason: 'members are named by GitLab id (GITLAB_MEMBER_IDENTITY=id), which a rename does not change' };
    if (!hook.old_username || hook.old_username === hook.username) return { kind: 'ignored', reason: 'the rename does not change the username' };
    return { kind: 'projection', change: { kind: 'user-renamed', from: hook.old_username, to: hook.username, place: placeOf(hook.updated_at, 1, now) } };
  }
  return { kind: 'ignored', reason: `system hook ${event || '(without event_name)'} does not concern projects or their members` };
}
