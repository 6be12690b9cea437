import { lockKey } from '@launchpad/persistence';

/**
 * The environments service's advisory locks, and the one order every transaction takes them in
 * (top to bottom, never back up, so that no two transactions each hold what the other waits for):
 *
 *   0. gitlabUserLock(user)          exclusive for GitLab's user_rename (both names, in name order)
 *                                    and user_destroy, shared for GitLab's member changes of the
 *                                    user: a change waits for a rename or destruction under way,
 *                                    then sees it (GitLabPlaces.currentUser)
 *   1. projectLock(project)          writeProject, deleteProject: a project made again and its
 *                                    deletion one at a time, so the new row's version (taken by
 *                                    the insert's trigger) is newer than the deletion's; GitLab's
 *                                    member changes too (GitLabProjection.memberSet may make the project)
 *   2. memberLock(project, user)     writeMember, deleteMember: likewise for a member removed and
 *                                    added again (an update's version needs no lock: the trigger
 *                                    runs once the row is locked)
 *   3. launchersLock(project)        launcher create, update, delete and offerUpdate: the default
 *                                    mark and update flags of a project's launchers one at a time;
 *                                    deleteProject, and a branch build's consumer before it records
 *                                    the build (both then write project_builds and launcher rows)
 *   4. rows (SELECT ... FOR UPDATE, and what UPDATE and DELETE lock), GitLab's places first
 *      (gitlab_project_places, gitlab_member_places: GitLabPlaces), then projects and members
 *   -  seedDefaultLock               alone, at start-up
 *
 * The keys are the strings used before they had builders, so replicas of an older release still
 * take the same locks during a rolling update.
 */
export const projectLock = (projectId: string) => lockKey('environments', 'project', projectId);
export const gitlabUserLock = (userId: string) => lockKey('environments', 'gitlab-user', userId);
export const memberLock = (projectId: string, userId: string) => lockKey('environments', 'member', projectId, userId);
export const launchersLock = (projectId: string) => lockKey('launchers', projectId);
export const seedDefaultLock = lockKey('environments', 'seed-default');
