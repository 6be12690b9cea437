import type { Session, SessionDisk, SessionProgress } from '@launchpad/contracts';
import type { SessionEntity, SessionProgressEntity } from './session.entity.js';

export interface CullingPolicy {
  idleTimeoutMs: number;
  hibernatedTtlMs: number;
}

/** Where the gateway serves a session; also what its program is told its base URL is. */
export function sessionBasePath(id: string): string {
  return `/sessions/${id}/`;
}

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
export function toSession(row: SessionEntity, policy: CullingPolicy): Session {
  const running = row.status === 'running' && row.desiredState === 'running';
  const hibernated = row.status === 'hibernated' && row.desiredState === 'hibernated';
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
    willHibernateAt: running ? new Date(row.lastInteraction.getTime() + policy.idleTimeoutMs).toISOString() : null,
    idleSince: running ? row.lastInteraction.toISOString() : null,
    hibernationReason: running ? `running sessions are hibernated after ${duration(policy.idleTimeoutMs)} without use` : row.hibernationReason,
    hibernatedAt: row.hibernatedAt?.toISOString() ?? null,
    willDeleteAt: hibernated && row.hibernatedAt ? new Date(row.hibernatedAt.getTime() + policy.hibernatedTtlMs).toISOString() : null,
    updatedAt: row.updatedAt.toISOString(),
  };
}

const GB = 1024 ** 3;
/** From this share of its disk on, a session's status warns (and its stream says so once). */
export const DISK_WARNING_RATIO = 0.9;

export function diskWarning(usedBytes: number, diskGb: number): string | null {
  const limit = diskGb * GB;
  if (limit <= 0 || usedBytes < DISK_WARNING_RATIO * limit) return null;
  const percent = Math.round((usedBytes / limit) * 100);
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
