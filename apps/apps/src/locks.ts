import { lockKey } from '@launchpad/persistence';

/**
 * The apps service's locks, and the one order every transaction takes them in (top to bottom,
 * never back up, so that no two wait for each other):
 *
 *   0. read-model rows (catalogue_*): first thing in the consumer applying an event (its hooks,
 *      e.g. AppsService.retire, go on down), or the use case's own copy of what environments
 *      answered, written first in its transaction (activate)
 *   1. appLock(launcher)           what changes an app's existence: activation, the launcher's deletion
 *   2. app rows, FOR UPDATE        activate, deactivate, retire, the scaler, the replica reconciler
 *   3. slugsLock                   a first activation choosing a free share-link name
 *
 * A deadlock or serialization failure that still happens runs the use case again (TransientRetry).
 */
export const appLock = (launcherId: string) => lockKey('apps', launcherId);
export const slugsLock = lockKey('apps', 'slugs');
