import type { Session, SessionDisk, SessionProgress } from '@launchpad/contracts';
import type { SessionEntity, SessionProgressEntity } from './session.entity.js';
import type { LaunchEstimate } from '../launch-estimates/launch-timings.js';

export interface CullingPolicy {
  idleTimeoutMs: number;
  hibernatedTtlMs: number;
  /** How long before an idle hibernation it is announced (progress step and event). Default 5 min. */
  warningMs?: number;
}

/** 0 = never. */
export const NEVER = 0;

/**
 * The session's own thresholds (from its pool, or asked for at launch, stored on the row) over the
 * service's defaults. 0 means never.
 */
export function policyOf(row: { idleTimeoutMs?: number | null; hibernatedTtlMs?: number | null }, policy: CullingPolicy): Required<CullingPolicy> {
  const idleTimeoutMs = row.idleTimeoutMs ?? policy.idleTimeoutMs;
  return {
    idleTimeoutMs,
    hibernatedTtlMs: row.hibernatedTtlMs ?? policy.hibernatedTtlMs,
    // Never more than half the idle time: a session that is hibernated after 4 s is not warned about at once.
    warningMs: Math.min(policy.warningMs ?? 5 * 60_000, idleTimeoutMs / 2),
  };
}

/** When an idle running session will be hibernated; null when never. */
export function hibernationDue(row: { lastInteraction: Date; idleTimeoutMs?: number | null }, policy: CullingPolicy): Date | null {
  const idle = policyOf(row, policy).idleTimeoutMs;
  return idle === NEVER ? null : new Date(row.lastInteraction.getTime() + idle);
}

/**
 * What a session's program is told its base URL is: the root, since each session is served from
 * its own origin (`<id>.<SESSIONS_DOMAIN>`, the gateway routes by Host).
 */
export function sessionBasePath(_id: string): string {
  return '/';
}

/** The path its owner opens on the session's origin, e.g. `/tree`. */
export function sessionPath(id: string, defaultUrl: string): string {
  return `${sessionBasePath(id)}${defaultUrl.replace(/^\/+/, '')}`;
}

/** A policy's duration in words: "90 seconds", "30 minutes", "14 days". */
export function duration(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} seconds`;
  const m = Math.round(ms / 60_000);
  if (m >= 2880) return `${Math.round(m / 1440)} days`;
  if (m >= 120) return `${Math.round(m / 60)} hours`;
  return `${m} minutes`;
}

/** The session as its owner sees it, with when and why it will be hibernated or deleted. */
export function toSession(row: SessionEntity, defaults: CullingPolicy): Session {
  const running = row.status === 'running' && row.desiredState === 'running';
  const hibernated = row.status === 'hibernated' && row.desiredState === 'hibernated';
  const policy = policyOf(row, defaults);
  const due = hibernationDue(row, defaults);
  return {
    id: row.id,
    userId: row.userId,
    launcherId: row.launcherId,
    projectId: row.projectId,
    name: row.name,
    status: row.status,
    phase: row.phase,
    message: row.message,
    image: row.image,
    resourceClassId: row.resourceClassId,
    resourcePoolId: row.resourcePoolId,
    diskStorageGb: row.diskGb,
    disk: diskOf(row),
    path: sessionPath(row.id, row.spec.defaultUrl),
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    lastInteraction: row.lastInteraction.toISOString(),
    willHibernateAt: running && due ? due.toISOString() : null,
    idleSince: running ? row.lastInteraction.toISOString() : null,
    hibernationReason: running
      ? due
        ? `running sessions are hibernated after ${duration(policy.idleTimeoutMs)} without use`
        : 'this session is never hibernated for being idle'
      : row.hibernationReason,
    idleReason: running ? idleReasonOf(row) : null,
    launchEstimate: row.status === 'starting' && row.desiredState === 'running' && row.launchEstimate ? launchEstimateOf(row.launchEstimate) : null,
    idleThresholdS: policy.idleTimeoutMs / 1000,
    hibernationThresholdS: policy.hibernatedTtlMs / 1000,
    hibernatedAt: row.hibernatedAt?.toISOString() ?? null,
    willDeleteAt: hibernated && row.hibernatedAt && policy.hibernatedTtlMs !== NEVER ? new Date(row.hibernatedAt.getTime() + policy.hibernatedTtlMs).toISOString() : null,
    updatedAt: row.updatedAt.toISOString(),
  };
}

function launchEstimateOf(e: LaunchEstimate): NonNullable<Session['launchEstimate']> {
  const s = (ms: number) => Math.round(ms / 100) / 10;
  return {
    basedOn: e.kind,
    totalS: s(e.totalMs),
    steps: Object.fromEntries(Object.entries(e.steps).map(([phase, ms]) => [phase, s(ms ?? 0)])),
    lastReadyAt: e.readyAt,
    expectedReadyAt: e.expectedReadyAt,
  };
}

/** Which rule says whether a running session is in use, and what it saw last. */
export function idleReasonOf(row: Pick<SessionEntity, 'spec' | 'lastInteraction' | 'activitySeen'>): string {
  const last = row.lastInteraction.toISOString();
  if (row.spec.auth?.kind !== 'jupyter-token') {
    return `traffic: a session is in use while requests or WebSocket messages reach it through the gateway; the last one was at ${last}`;
  }
  const rule = `jupyter: a session is in use while one of its kernels is busy or Jupyter saw activity (code run, output, its API used), or while requests or WebSocket messages reach it through the gateway; it was last in use at ${last}`;
  const seen = row.activitySeen;
  if (!seen) return `${rule}; Jupyter is asked once the session looks idle`;
  if (seen.error && seen.retrying) return `${rule}; Jupyter could not be asked at ${seen.checkedAt} (${seen.error}), and is asked again shortly: only traffic counts once it has not answered for a while`;
  if (seen.error) return `${rule}; Jupyter could not be asked at ${seen.checkedAt} (${seen.error}${seen.failingSince && seen.failingSince !== seen.checkedAt ? `, nor since ${seen.failingSince}` : ''}), so only traffic counted`;
  return `${rule}; at ${seen.checkedAt} Jupyter had ${seen.kernels ?? 0} kernel(s), ${seen.busyKernels ?? 0} busy, ${seen.connections ?? 0} open connection(s), last activity ${seen.lastActivity ?? 'unknown'}`;
}

const GB = 1024 ** 3;
/** From this share of its disk on, a session's status warns (and its stream says so once). */
export const DISK_WARNING_RATIO = 0.9;

export function diskWarning(usedBytes: number, diskGb: number): string | null {
  const limit = diskGb * GB;
  if (limit <= 0 || usedBytes < DISK_WARNING_RATIO * limit) return null;
  const percent = Math.round((usedBytes / limit) * 100);
  if (usedBytes >= limit) {
    return `disk full: ${(usedBytes / GB).toFixed(1)} GB of ${diskGb} GB used (${percent} %) in /work; writes fail now: delete files, or hibernate it and resume it with a class that allows more`;
  }
  return `disk almost full: ${(usedBytes / GB).toFixed(1)} GB of ${diskGb} GB used (${percent} %) in /work; delete files, or start with a larger diskStorageGb, before writes fail`;
}

export function diskOf(row: Pick<SessionEntity, 'diskUsedBytes' | 'diskMeasuredAt' | 'diskGb'>): SessionDisk | null {
  if (row.diskUsedBytes === null || row.diskMeasuredAt === null) return null;
  const limitBytes = row.diskGb * GB;
  return {
    usedBytes: row.diskUsedBytes,
    limitBytes,
    usedPercent: limitBytes > 0 ? Math.round((row.diskUsedBytes / limitBytes) * 1000) / 10 : 0,
    measuredAt: row.diskMeasuredAt.toISOString(),
    warning: diskWarning(row.diskUsedBytes, row.diskGb),
  };
}

export function toProgress(p: SessionProgressEntity): SessionProgress {
  return { sessionId: p.sessionId, seq: p.seq, phase: p.phase, status: p.status, message: p.message, at: p.at.toISOString() };
}
