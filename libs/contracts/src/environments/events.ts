import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { environmentSchema } from './environment.js';
import { launcherSchema, launcherSchemaV1 } from './launcher.js';
import { memberSchema, projectSchema } from './project.js';
import { knownRowVersionSchema } from './row-version.js';

/**
 * Every event that changes a project, member, launcher or environment carries the row's `version`
 * (see rowVersionSchema): a read model applies one only if it is newer than what it holds, and
 * keeps a removal as a tombstone with its version, so that deliveries may come in any order, twice,
 * and to two replicas at once. Events from before versions read as version 0 ("unknown").
 */

const deleted = z.object({ id: z.string(), deletedBy: z.string() });

export const environmentCreatedV1 = defineEvent('environments.environment.created', 1, environmentSchema);
export const environmentUpdatedV1 = defineEvent('environments.environment.updated', 1, environmentSchema);
export const environmentDeletedV1 = defineEvent('environments.environment.deleted', 1, deleted);
/** Every event about an environment, whatever its kind or version: what a copy of the catalogue is told of changes by. */
export const ENVIRONMENT_EVENTS_SUBJECT = 'environments.environment.>';

/** Launcher events carry the resolved environment, so a read model needs nothing else. */
export const launcherCreatedV1 = defineEvent('environments.launcher.created', 1, launcherSchemaV1);
export const launcherUpdatedV1 = defineEvent('environments.launcher.updated', 1, launcherSchemaV1);
/** v2 adds launchers made from code: environment.kind `code`, `pin` and `updateAvailable`. Emitted from then on. */
export const launcherCreatedV2 = defineEvent('environments.launcher.created', 2, launcherSchema);
export const launcherUpdatedV2 = defineEvent('environments.launcher.updated', 2, launcherSchema);
/**
 * A launcher is gone for good: launcher ids are uuids environments never hands out again, so a
 * deletion is final and needs no version; a read model keeps a tombstone that no copy overrides.
 */
export const launcherDeletedV1 = defineEvent('environments.launcher.deleted', 1, deleted.extend({ projectId: z.string() }));

/** v2 added `repositories`; v1 (without them) may still be on the stream from older releases. */
export const projectUpsertedV1 = defineEvent('environments.project.upserted', 1, projectSchema.omit({ repositories: true }));
export const projectUpsertedV2 = defineEvent('environments.project.upserted', 2, projectSchema);

/**
 * A project is gone (GitLab's project_destroy); its launchers went before it, each with
 * launcher.deleted, and (from v2 on) each member with member-removed v2.
 * v1 has no version: older releases emitted it; consumers still read it.
 */
export const projectDeletedV1 = defineEvent('environments.project.deleted', 1, deleted);
/** v2 carries the version the deletion took, so that a late upsert cannot bring the project back. Emitted from then on. */
export const projectDeletedV2 = defineEvent('environments.project.deleted', 2, deleted.extend({ version: knownRowVersionSchema }));
/** `version` added within v1 (older ones read as 0). */
export const projectMemberSetV1 = defineEvent('environments.project.member-set', 1, memberSchema);
/** v1 has no version: older releases emitted it; consumers still read it. */
export const projectMemberRemovedV1 = defineEvent(
  'environments.project.member-removed',
  1,
  z.object({ projectId: z.string(), userId: z.string() }),
);
/**
 * v2 carries the version the removal took (higher than any the membership had), for the read
 * model's tombstone: a late member-set of the old membership is then older and ignored, and a
 * late removal does not undo a membership given again since. Emitted from then on.
 */
export const projectMemberRemovedV2 = defineEvent(
  'environments.project.member-removed',
  2,
  z.object({ projectId: z.string(), userId: z.string(), version: knownRowVersionSchema }),
);
