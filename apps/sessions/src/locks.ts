import { lockKey } from '@launchpad/persistence';

/**
 * The sessions service's locks, and the one order every transaction takes them in. A
 * transaction takes any subset of them, but always top to bottom, never back up; so no two of
 * them can each hold what the other waits for (Postgres would abort one: 40P01).
 *
 *   0. read-model rows  (catalogue_launchers, _projects, _members): written first thing by the
 *      consumer applying an event, whose hooks then go on down the list; a use case refreshes its
 *      copy in a transaction of its own, committed before it takes anything below.
 *   1. launcherLock(launcher)                shared by launches of the launcher, exclusive for its
 *                                            deletion (SessionsCatalogueHooks.launcherDeleted)
 *   2. userLauncherLock(user, launcher)      launch: at most one session per user and launcher
 *   3. session rows, SELECT ... FOR UPDATE   resume, hibernate, delete, the catalogue hooks, the
 *                                            reconciler (one row at a time)
 *   4. poolLock(pool)                        reserve: a pool's quota, and the sessions each user
 *                                            may hold in it, are checked and taken one launch or
 *                                            resume at a time
 *   -  seedPoolsLock                         alone, at start-up
 *
 * Row locks on other tables (resource pools and classes are only read) sit outside the order.
 * Should a race still end in a deadlock or serialization failure, the use case runs its
 * transaction again (TransientRetry).
 */
export const launcherLock = (launcherId: string) => lockKey('sessions', 'launcher', launcherId);
export const userLauncherLock = (userId: string, launcherId: string) => lockKey('sessions', userId, launcherId);
export const poolLock = (poolId: string) => lockKey('sessions', 'pool', poolId);
export const seedPoolsLock = lockKey('sessions', 'seed-pools');
