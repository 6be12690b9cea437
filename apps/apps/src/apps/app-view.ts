import { createHash } from 'node:crypto';
import { type App, APP_DEFAULT_SETTINGS, type Launcher, type Repository, runSettingsOf } from '@launchpad/contracts';
import type { WorkloadStatus } from '@launchpad/runtime';
import { parseReplicaId } from '../replicas/replica-plan.js';
import type { AppEntity, AppRunSpec } from './app.entity.js';

/** An app is served at the root of its own origin, `<slug>.<APPS_DOMAIN>` (the gateway routes by Host). */
export const appBasePath = (_slug: string) => '/';

/** How the app runs, from its launcher's environment and its project's repositories. */
export function runSpecFrom(launcher: Pick<Launcher, 'environment'>, repositories: readonly Repository[]): AppRunSpec {
  const e = launcher.environment;
  return {
    image: e.image,
    ...runSettingsOf(e),
    // The environment's user; its group also owns the replica's /work (fsGroup).
    security: { uid: e.uid, gid: e.gid, fsGroup: e.gid },
    repositories: repositories.map((r) => ({ name: r.name, url: r.url })),
  };
}

/** A hash that does not depend on key order (jsonb does not keep it). */
export function specHash(spec: AppRunSpec): string {
  const stable = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(stable)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, stable(v)]))
        : value;
  return createHash('sha256').update(JSON.stringify(stable(spec))).digest('hex');
}

const byReplicaOrder = (a: WorkloadStatus, b: WorkloadStatus) => {
  const pa = parseReplicaId(a.id);
  const pb = parseReplicaId(b.id);
  return (pa?.generation ?? 0) - (pb?.generation ?? 0) || (pa?.ordinal ?? 0) - (pb?.ordinal ?? 0);
};

export function workloadsOf(appId: string, workloads: readonly WorkloadStatus[]): WorkloadStatus[] {
  return workloads.filter((w) => w.owner.service === 'apps' && w.owner.id === appId).sort(byReplicaOrder);
}

export function toApp(row: AppEntity, workloads: readonly WorkloadStatus[]): App {
  return {
    launcherId: row.launcherId,
    projectId: row.projectId,
    name: row.name,
    status: row.status,
    message: row.message,
    slug: row.slug,
    path: appBasePath(row.slug),
    access: row.access,
    minReplicas: row.minReplicas,
    maxReplicas: row.maxReplicas,
    targetConcurrency: row.targetConcurrency,
    desiredReplicas: row.desiredReplicas,
    readyReplicas: row.endpoints.length,
    replicas: workloadsOf(row.launcherId, workloads).map((w) => ({ id: w.id, phase: w.phase, startedAt: w.startedAt, readyAt: w.readyAt, message: w.message })),
    command: row.command ? { source: row.command.source, repository: row.command.repository, line: row.command.line } : null,
    lastRequestAt: row.lastRequestAt?.toISOString() ?? null,
    activatedAt: row.activatedAt?.toISOString() ?? null,
    activatedBy: row.activatedBy,
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** An app launcher that was never activated: off, with the settings a first activation starts from. */
export function neverActivated(launcher: Pick<Launcher, 'id' | 'projectId' | 'name'>): App {
  return {
    launcherId: launcher.id,
    projectId: launcher.projectId,
    name: launcher.name,
    status: 'inactive',
    message: null,
    slug: null,
    path: null,
    ...APP_DEFAULT_SETTINGS,
    desiredReplicas: 0,
    readyReplicas: 0,
    replicas: [],
    command: null,
    lastRequestAt: null,
    activatedAt: null,
    activatedBy: null,
    updatedAt: null,
  };
}
