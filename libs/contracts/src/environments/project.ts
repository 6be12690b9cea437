import { z } from 'zod';
import { projectIdSchema, userIdSchema } from '../ids.js';

/** GitLab's roles, weakest first; the order is what authorisation compares. */
export const PROJECT_ROLES = ['guest', 'reporter', 'developer', 'maintainer', 'owner'] as const;
export const projectRoleSchema = z.enum(PROJECT_ROLES);
export type ProjectRole = z.infer<typeof projectRoleSchema>;

export const projectVisibilitySchema = z.enum(['private', 'internal', 'public']);

export const upsertProjectInputSchema = z.strictObject({
  path: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, { message: 'must be a GitLab path such as group/project' }),
  name: z.string().trim().min(1).max(255),
  visibility: projectVisibilitySchema,
});

export const projectSchema = z.object({
  id: projectIdSchema,
  path: z.string(),
  name: z.string(),
  visibility: projectVisibilitySchema,
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type Project = z.infer<typeof projectSchema>;

export const setMemberInputSchema = z.strictObject({ role: projectRoleSchema });

export const memberSchema = z.object({
  projectId: projectIdSchema,
  userId: userIdSchema,
  role: projectRoleSchema,
  updatedAt: z.iso.datetime({ offset: true }),
});
export type ProjectMember = z.infer<typeof memberSchema>;
