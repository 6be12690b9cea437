import { z } from 'zod';
import { projectIdSchema, userIdSchema } from '../ids.js';
import { projectRoleSchema, projectVisibilitySchema } from '../environments/project.js';

/**
 * What GitLab's system hooks said about projects and their members, translated to our words by the
 * builds service (which verified the hook and put the changes in GitLab's order); environments
 * keeps its projects and members projection from these.
 */
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
});
export type GitLabProject = z.infer<typeof gitlabProjectSchema>;

export const gitlabProjectDestroyedSchema = z.object({ projectId: projectIdSchema, path: z.string() });

export const gitlabMemberSchema = z.object({
  projectId: projectIdSchema,
  userId: userIdSchema,
  role: projectRoleSchema,
  /** The project as the member event describes it, so a member of a project we never heard of still lands. */
  project: z.object(project),
});
export type GitLabMember = z.infer<typeof gitlabMemberSchema>;

export const gitlabMemberRemovedSchema = z.object({ projectId: projectIdSchema, userId: userIdSchema });

/**
 * user_rename: GitLab's username changed. With members named by username, the memberships of
 * `from` are now `to`'s (with members named by GitLab id, a rename changes nothing and is not sent).
 */
export const gitlabUserRenamedSchema = z.object({ from: userIdSchema, to: userIdSchema });

/** user_destroy: the user is gone from GitLab, and with it every membership. */
export const gitlabUserDestroyedSchema = z.object({ userId: userIdSchema });
