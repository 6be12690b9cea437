import { lockKey } from '@launchpad/persistence';

/**
 * The builds service's advisory locks, and the order a transaction takes what it takes (top to
 * bottom, never back up, so that no two transactions wait for each other):
 *
 *   1. the delivery's row (webhook_deliveries, inserted first: a retry of the same delivery waits
 *      for it, then finds it done)
 *   2. GitLab's order of a project or membership (gitlab_projects, gitlab_members rows; system hooks)
 *   3. commitLock(project, sha)      BuildsService.apply: one writer per commit, whether its first
 *                                    record exists yet or not (ReceiveWebhook takes it in the
 *                                    statement that inserts 1)
 *   4. the build's row, the webhook secret's row (learnPath, ProjectPathsConsumer), the outbox
 *   -  repairLock                    a session lock, alone: one replica's repair pass at a time
 *                                    (each of whose transactions then takes 3 and 4)
 *
 * The keys are the strings used before they had builders, so replicas of an older release take
 * the same locks during a rolling update.
 */
export const commitLock = (projectId: string, sha: string) => lockKey('builds', projectId, sha);
export const repairLock = lockKey('builds', 'repair');
