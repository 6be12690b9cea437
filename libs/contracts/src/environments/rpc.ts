import { z } from 'zod';
import { defineRpc } from '../rpc.js';
import { principalSchema } from '../principal.js';
import { projectIdSchema, userIdSchema, uuidSchema } from '../ids.js';
import {
  createEnvironmentInputSchema,
  environmentSchema,
  environmentSearchSchema,
  updateEnvironmentInputSchema,
} from './environment.js';
import { createLauncherInputSchema, launcherSchema, updateLauncherInputSchema } from './launcher.js';
import { memberSchema, projectSchema, setMemberInputSchema, upsertProjectInputSchema } from './project.js';

const caller = { caller: principalSchema };
const ok = z.object({ ok: z.literal(true) });

export const environmentsRpc = {
  listEnvironments: defineRpc(
    'environments.rpc.environment.list',
    z.object({ ...caller, query: environmentSearchSchema }),
    z.object({ items: z.array(environmentSchema) }),
  ),
  getEnvironment: defineRpc('environments.rpc.environment.get', z.object({ ...caller, id: uuidSchema }), environmentSchema),
  createEnvironment: defineRpc(
    'environments.rpc.environment.create',
    z.object({ ...caller, input: createEnvironmentInputSchema }),
    environmentSchema,
  ),
  updateEnvironment: defineRpc(
    'environments.rpc.environment.update',
    z.object({ ...caller, id: uuidSchema, input: updateEnvironmentInputSchema }),
    environmentSchema,
  ),
  deleteEnvironment: defineRpc('environments.rpc.environment.delete', z.object({ ...caller, id: uuidSchema }), ok),

  listProjects: defineRpc('environments.rpc.project.list', z.object(caller), z.object({ items: z.array(projectSchema) })),
  getProject: defineRpc(
    'environments.rpc.project.get',
    z.object({ ...caller, projectId: projectIdSchema }),
    projectSchema.extend({ role: z.string().nullable() }),
  ),
  upsertProject: defineRpc(
    'environments.rpc.project.upsert',
    z.object({ ...caller, projectId: projectIdSchema, input: upsertProjectInputSchema }),
    projectSchema,
  ),
  listMembers: defineRpc(
    'environments.rpc.project.members.list',
    z.object({ ...caller, projectId: projectIdSchema }),
    z.object({ items: z.array(memberSchema) }),
  ),
  setMember: defineRpc(
    'environments.rpc.project.members.set',
    z.object({ ...caller, projectId: projectIdSchema, userId: userIdSchema, input: setMemberInputSchema }),
    memberSchema,
  ),
  removeMember: defineRpc(
    'environments.rpc.project.members.remove',
    z.object({ ...caller, projectId: projectIdSchema, userId: userIdSchema }),
    ok,
  ),

  listLaunchers: defineRpc(
    'environments.rpc.launcher.list',
    z.object({ ...caller, projectId: projectIdSchema }),
    z.object({ items: z.array(launcherSchema) }),
  ),
  getLauncher: defineRpc('environments.rpc.launcher.get', z.object({ ...caller, id: uuidSchema }), launcherSchema),
  /**
   * A launcher and its project as the caller may see them, in one round trip and one access check:
   * what starting a session from it needs (getLauncher, then getProject, asked the same twice).
   */
  getLauncherWithProject: defineRpc(
    'environments.rpc.launcher.get-with-project',
    z.object({ ...caller, id: uuidSchema }),
    z.object({ launcher: launcherSchema, project: projectSchema.extend({ role: z.string().nullable() }) }),
  ),
  createLauncher: defineRpc(
    'environments.rpc.launcher.create',
    z.object({ ...caller, projectId: projectIdSchema, input: createLauncherInputSchema }),
    launcherSchema,
  ),
  updateLauncher: defineRpc(
    'environments.rpc.launcher.update',
    z.object({ ...caller, id: uuidSchema, input: updateLauncherInputSchema }),
    launcherSchema,
  ),
  deleteLauncher: defineRpc('environments.rpc.launcher.delete', z.object({ ...caller, id: uuidSchema }), ok),
  /**
   * Service to service (the sessions service starting a session of `caller`; no API route): the
   * values of the launcher's secret variables. Request-reply only, so they are in no stream.
   */
  getLauncherSecretValues: defineRpc(
    'environments.rpc.launcher.secret-values',
    z.object({ ...caller, id: uuidSchema }),
    z.object({ values: z.record(z.string(), z.string()) }),
  ),
  /** Moves a launcher made from code to the build its `updateAvailable` names, and clears the flag. */
  updateLauncherToLatest: defineRpc('environments.rpc.launcher.update-to-latest', z.object({ ...caller, id: uuidSchema }), launcherSchema),
} as const;
