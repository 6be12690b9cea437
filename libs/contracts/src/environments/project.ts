import { z } from 'zod';
import { projectIdSchema, userIdSchema } from '../ids.js';
import { repositoryUrlHost } from '../repository-url.js';
import { rowVersionSchema } from './row-version.js';

/** GitLab's roles, weakest first; the order is what authorisation compares. */
export const PROJECT_ROLES = ['guest', 'reporter', 'developer', 'maintainer', 'owner'] as const;
export const projectRoleSchema = z.enum(PROJECT_ROLES);
export type ProjectRole = z.infer<typeof projectRoleSchema>;

export const projectVisibilitySchema = z.enum(['private', 'internal', 'public']);

const repositoryNamePattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

/** The directory a repository is cloned into: the last segment of its URL without `.git`. */
export function repositoryNameFromUrl(url: string): string {
  const last = url.replace(/\/+$/, '').split(/[/:]/).pop() ?? '';
  return last.replace(/\.git$/, '');
}

/**
 * Git remotes, as the runtimes read them (repositoryUrlHost): https, ssh (both spellings), and
 * http and file URLs that the installation's policy then refuses or allows (repositoryUrlProblem,
 * checked by the environments service where it writes projects, with the runtimes' settings).
 */
export const repositoryInputSchema = z
  .strictObject({
    url: z
      .string()
      .max(2048)
      .refine((url) => repositoryUrlHost(url) !== null, {
        message: 'must be a git remote: https://host/group/repo.git, ssh://git@host/group/repo.git, git@host:group/repo.git or file:///path/repo',
      }),
    name: z.string().regex(repositoryNamePattern, { message: 'must be a directory name: letters, digits, ".", "-" or "_"' }).optional(),
  })
  .transform((r, ctx) => {
    const name = r.name ?? repositoryNameFromUrl(r.url);
    if (!repositoryNamePattern.test(name)) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: `cannot derive a directory name from "${r.url}": give one in "name"` });
      return z.NEVER;
    }
    return { url: r.url, name };
  });

export const repositorySchema = z.object({ name: z.string(), url: z.string() });
export type Repository = z.infer<typeof repositorySchema>;

export const upsertProjectInputSchema = z.strictObject({
  path: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, { message: 'must be a GitLab path such as group/project' }),
  name: z.string().trim().min(1).max(255),
  visibility: projectVisibilitySchema,
  /** Cloned into every session's work directory as `/work/<name>`. */
  repositories: z
    .array(repositoryInputSchema)
    .max(50)
    .default([])
    .superRefine((repos, ctx) => {
      const seen = new Set<string>();
      repos.forEach((r, i) => {
        if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `two repositories would be cloned into /work/${r.name}: give one a different "name"` });
        seen.add(r.name);
      });
    }),
});

export const projectSchema = z.object({
  id: projectIdSchema,
  path: z.string(),
  name: z.string(),
  visibility: projectVisibilitySchema,
  repositories: z.array(repositorySchema),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  version: rowVersionSchema,
});
export type Project = z.infer<typeof projectSchema>;

export const setMemberInputSchema = z.strictObject({ role: projectRoleSchema });

export const memberSchema = z.object({
  projectId: projectIdSchema,
  userId: userIdSchema,
  role: projectRoleSchema,
  updatedAt: z.iso.datetime({ offset: true }),
  version: rowVersionSchema,
});
export type ProjectMember = z.infer<typeof memberSchema>;
