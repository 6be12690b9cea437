import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { environmentSchema } from './environment.js';
import { launcherSchema, launcherSchemaV1 } from './launcher.js';
import { memberSchema, projectSchema } from './project.js';

const deleted = z.object({ id: z.string(), deletedBy: z.string() });

export const environmentCreatedV1 = defineEvent('environments.environment.created', 1, environmentSchema);
export const environmentUpdatedV1 = defineEvent('environments.environment.updated', 1, environmentSchema);
export const environmentDeletedV1 = defineEvent('environments.environment.deleted', 1, deleted);

/** Launcher events carry the resolved environment, so a read model needs nothing else. */
export const launcherCreatedV1 = defineEvent('environments.launcher.created', 1, launcherSchemaV1);
export const launcherUpdatedV1 = defineEvent('environments.launcher.updated', 1, launcherSchemaV1);
/** v2 adds launchers made from code: environment.kind `code`, `pin` and `updateAvailable`. Emitted from then on. */
export const launcherCreatedV2 = defineEvent('environments.launcher.created', 2, launcherSchema);
export const launcherUpdatedV2 = defineEvent('environments.launcher.updated', 2, launcherSchema);
export const launcherDeletedV1 = defineEvent('environments.launcher.deleted', 1, deleted.extend({ projectId: z.string() }));

/** v2 added `repositories`; v1 (without them) may still be on the stream from older releases. */
export const projectUpsertedV1 = defineEvent('environments.project.upserted', 1, projectSchema.omit({ repositories: true }));
export const projectUpsertedV2 = defineEvent('environments.project.upserted', 2, projectSchema);
/** A project is gone (GitLab's project_destroy); its launchers went before it, each with launcher.deleted. */
export const projectDeletedV1 = defineEvent('environments.project.deleted', 1, deleted);
export const projectMemberSetV1 = defineEvent('environments.project.member-set', 1, memberSchema);
export const projectMemberRemovedV1 = defineEvent(
  'environments.project.member-removed',
  1,
  z.object({ projectId: z.string(), userId: z.string() }),
);
