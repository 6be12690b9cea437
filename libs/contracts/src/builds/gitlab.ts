import { z } from 'zod';
import { projectIdSchema, userIdSchema } from '../ids.js';
import { projectRoleSchema, projectVisibilitySchema } from '../environments/project.js';

/**
 * What GitLab's system hooks said about projects and their members, translated to our words by the
 * builds service (which verified the hook and put the changes in GitLab's order); environments
 * keeps its projects and members projection from these.
 */
/**
 * Where the change stands in GitLab's order (builds' place: the hook's updated_at, then a rank
 * for hooks of one instant: created < changed < destroyed/removed). Environments, whose replicas
 * share one durable and so may apply two changes of one project or membership at once or out of
 * order, applies a change only if its place is not older than the last one applied there.
 * Added within v1: older events have none, and apply as they come.
 */
export const gitlabPlaceSchema = z.object({ at: z.iso.datetime({ offset: true }), rank: z.number().int() });
export type GitLabPlace = z.infer<typeof gitlabPlaceSchema>;
const place = gitlabPlaceSchema.optional();

const project = {
  projectId: projectIdSchema,
  path: z.string(),
  name: z.string(),
  visibility: projectVisibilitySchema,
  /** `<GITLAB_URL>/<path_with_namespace>.git`. */
  repositoryUrl: z.string(),
};

export const gitlabProjectSchema = z.object({
  ...project,
  /** The repository URL before a rename or transfer, so the projection can replace it. */
  previousRepositoryUrl: z.string().nullable(),
  place,
});
export type GitLabProject = z.infer<typeof gitlabProjectSchema>;

export const gitlabProjectDestroyedSchema = z.object({ projectId: projectIdSchema, path: z.string(), place });

export const gitlabMemberSchema = z.object({
  projectId: projectIdSchema,
  userId: userIdSchema,
  role: projectRoleSchema,
  /** The project as the member event describes it, so a member of a project we never heard of still lands. */
  project: z.object(project),
  place,
});
export type GitLabMember = z.infer<typeof gitlabMemberSchema>;

export const gitlabMemberRemovedSchema = z.object({ projectId: projectIdSchema, userId: userIdSchema, place });

/**
 * user_rename: GitLab's username changed. With members named by username, the memberships of
 * `from` are now `to`'s (with members named by GitLab id, a rename changes nothing and is not sent).
 */
export const gitlabUserRenamedSchema = z.object({ from: userIdSchema, to: userIdSchema, place });

/** user_destroy: the user is gone from GitLab, and with it every membership. */
export const gitlabUserDestroyedSchema = z.object({ userId: userIdSchema, place });
