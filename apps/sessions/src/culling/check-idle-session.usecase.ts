import { Injectable, Logger } from '@nestjs/common';
import type { SessionEntity } from '../sessions/session.entity.js';
import { programAuthorization } from '../sessions/session-secret.js';
import { ActivityProbe, type JupyterActivity } from './activity-probe.js';

/** What the last look at a session's own activity saw (sessions.activity_seen), shown in its idleReason. */
export interface ActivitySeen {
  checkedAt: string;
  kernels?: number;
  busyKernels?: number;
  connections?: number;
  /** The latest activity Jupyter reported (its status's or a kernel's). */
  lastActivity?: string | null;
  /** Why Jupyter could not be asked. */
  error?: string;
  /** With `error`: since when it has not answered, one failed question after another. */
  failingSince?: string;
  /** With `error`: it is asked again shortly; only traffic counts once it has not answered for PROBE_FAILURE_GRACE_MS. */
  retrying?: boolean;
}

export interface IdleCheck {
  /** When the session was last in use by its program's own account; null: no later than the table says. */
  usedAt: Date | null;
  seen: ActivitySeen | null;
  /** Jupyter could not be asked, not for long yet: nothing is decided, ask again after this long. */
  askAgainInMs?: number;
}

/**
 * A Jupyter that does not answer (a loaded machine, a restart of its server) is asked again for
 * this long, every PROBE_RETRY_MS, before the traffic rule alone decides: one failed question
 * would otherwise hibernate a session whose kernel is busy.
 */
export const PROBE_FAILURE_GRACE_MS = 30_000;
export const PROBE_RETRY_MS = 2_000;

/**
 * When Jupyter says it was last used: now while a kernel is busy (a long cell prints nothing for
 * hours), else its latest activity. Never later than now (another clock). Open connections alone
 * are not use: an abandoned browser tab would keep the session for ever.
 */
export function lastUseOf(activity: JupyterActivity, now: Date): Date | null {
  if (activity.busyKernels > 0) return now;
  const seen = [activity.lastActivity, activity.kernelActivity].filter((d): d is Date => d !== null);
  if (seen.length === 0) return null;
  return new Date(Math.min(now.getTime(), Math.max(...seen.map((d) => d.getTime()))));
}

/**
 * Whether an idle answer from Jupyter confirms one it gave a moment before (`previous`, the last
 * look, within IDLE_CONFIRM_MS): a session is hibernated on two idle answers in a row, not one. A
 * Notebook 6 can answer "idle" once in the middle of a busy cell (its execution_state is what its
 * own IOPub subscriber last heard), and one odd answer must not stop a kernel at work.
 */
export function idleConfirmed(previous: ActivitySeen | null | undefined, now: Date): boolean {
  if (!previous || previous.error !== undefined || (previous.busyKernels ?? 0) > 0) return false;
  return now.getTime() - Date.parse(previous.checkedAt) <= IDLE_CONFIRM_MS;
}

/** How recent an idle answer must be to confirm the next one (the next look is PROBE_RETRY_MS away). */
export const IDLE_CONFIRM_MS = 3 * PROBE_RETRY_MS;

/**
 * Before a ready session is warned about or hibernated for being idle, asks its program whether
 * it is: a session whose environment takes a Jupyter token is asked through Jupyter's own API
 * with it; any other keeps the traffic rule (no question asked). A Jupyter that cannot be asked
 * is asked again shortly; one that has not answered for PROBE_FAILURE_GRACE_MS does not keep the
 * session: the traffic rule decides, and the status says why.
 */
@Injectable()
export class CheckIdleSession {
  private readonly logger = new Logger(CheckIdleSession.name);

  constructor(private readonly probe: ActivityProbe) {}

  async execute(row: Pick<SessionEntity, 'id' | 'endpoint' | 'secret' | 'spec'> & Partial<Pick<SessionEntity, 'activitySeen'>>, now: Date): Promise<IdleCheck> {
    const authorization = programAuthorization(row);
    if (!authorization || !row.endpoint || row.spec.auth?.kind !== 'jupyter-token') return { usedAt: null, seen: null };
    try {
      const activity = await this.probe.jupyter(row.endpoint, authorization);
      const usedAt = lastUseOf(activity, now);
      return {
        usedAt,
        seen: {
          checkedAt: now.toISOString(),
          kernels: activity.kernels,
          busyKernels: activity.busyKernels,
          connections: activity.connections,
          lastActivity: usedAt && activity.busyKernels === 0 ? usedAt.toISOString() : (activity.lastActivity?.toISOString() ?? null),
        },
      };
    } catch (error) {
      const message = (error as Error).message;
      // Failures in a row: the last look failed too, and not so long ago that it belongs to another idle stretch.
      const previous = row.activitySeen;
      const inARow = previous?.error !== undefined && now.getTime() - Date.parse(previous.checkedAt) <= PROBE_FAILURE_GRACE_MS;
      const failingSince = inARow ? (previous.failingSince ?? previous.checkedAt) : now.toISOString();
      const retrying = now.getTime() - Date.parse(failingSince) < PROBE_FAILURE_GRACE_MS;
      this.logger.warn(
        { sessionId: row.id },
        `could not ask session ${row.id}'s Jupyter about its activity (${message}): ${retrying ? 'asking again shortly' : `no answer since ${failingSince}, only traffic counts`}`,
      );
      const seen: ActivitySeen = { checkedAt: now.toISOString(), error: message, failingSince, ...(retrying ? { retrying } : {}) };
      return { usedAt: null, seen, ...(retrying ? { askAgainInMs: PROBE_RETRY_MS } : {}) };
    }
  }
}
