import { defineEvent } from '../envelope.js';
import { buildSchema } from './build.js';
import {
  gitlabMemberRemovedSchema,
  gitlabMemberSchema,
  gitlabProjectDestroyedSchema,
  gitlabProjectSchema,
  gitlabUserDestroyedSchema,
  gitlabUserRenamedSchema,
} from './gitlab.js';

/** One event per status a build enters, each carrying the whole build record (see also buildUpdatedV1). */
export const buildPendingV1 = defineEvent('builds.build.pending', 1, buildSchema);
export const buildRunningV1 = defineEvent('builds.build.running', 1, buildSchema);
export const buildSucceededV1 = defineEvent('builds.build.succeeded', 1, buildSchema);
export const buildFailedV1 = defineEvent('builds.build.failed', 1, buildSchema);
export const buildCanceledV1 = defineEvent('builds.build.canceled', 1, buildSchema);

export const BUILD_EVENTS = {
  pending: buildPendingV1,
  running: buildRunningV1,
  succeeded: buildSucceededV1,
  failed: buildFailedV1,
  canceled: buildCanceledV1,
} as const;

/**
 * The build changed without entering another status: its pipeline became known (a push announced
 * the commit, then its pipeline reported), it moved to another pipeline or job, its failure reason
 * changed, or it was bound to a branch. Carries the whole build record, as the status events do.
 */
export const buildUpdatedV1 = defineEvent('builds.build.updated', 1, buildSchema);

/** Every event on `builds.build.>`, for consumers that keep builds. */
export const ALL_BUILD_EVENTS = [...Object.values(BUILD_EVENTS), buildUpdatedV1] as const;

/** GitLab system hooks, in GitLab's order: project_create, project_rename/transfer/update, project_destroy. */
export const gitlabProjectCreatedV1 = defineEvent('builds.gitlab.project-created', 1, gitlabProjectSchema);
export const gitlabProjectRenamedV1 = defineEvent('builds.gitlab.project-renamed', 1, gitlabProjectSchema);
export const gitlabProjectDestroyedV1 = defineEvent('builds.gitlab.project-destroyed', 1, gitlabProjectDestroyedSchema);
/** user_add_to_team, user_update_for_team, user_remove_from_team. */
export const gitlabMemberAddedV1 = defineEvent('builds.gitlab.member-added', 1, gitlabMemberSchema);
export const gitlabMemberUpdatedV1 = defineEvent('builds.gitlab.member-updated', 1, gitlabMemberSchema);
export const gitlabMemberRemovedV1 = defineEvent('builds.gitlab.member-removed', 1, gitlabMemberRemovedSchema);
/** user_rename (members named by username) and user_destroy. */
export const gitlabUserRenamedV1 = defineEvent('builds.gitlab.user-renamed', 1, gitlabUserRenamedSchema);
export const gitlabUserDestroyedV1 = defineEvent('builds.gitlab.user-destroyed', 1, gitlabUserDestroyedSchema);
