import { Inject, Injectable, Optional } from '@nestjs/common';
import { CatalogueService, type CatalogueChange, canOperate } from '@launchpad/catalogue';
import {
  type ActivateAppInput,
  type App,
  APP_DEFAULT_SETTINGS,
  appActivatedV1,
  appDeactivatedV1,
  AppsError,
  DomainError,
  AppsErrorCode,
  CommonErrorCode,
  EnvironmentsErrorCode,
  environmentsRpc,
  type Launcher,
  type Principal,
  type Project,
} from '@launchpad/contracts';
import { OutboxWriter, RpcClient } from '@launchpad/messaging';
import type { Runtime } from '@launchpad/runtime';
import { advisoryLock, TransientRetry } from '@launchpad/persistence';
import { DataSource, type EntityManager, Like } from 'typeorm';
import { APP_RUNTIME } from '../config.js';
import { appLock, slugsLock } from '../locks.js';
import { launcherCommand } from '../procfile/command-resolver.js';
import { replicaLabel } from '../replicas/replica-plan.js';
import { Routes } from '../routing/route-source.js';
import { AppEntity } from './app.entity.js';
import { AppLogFollows } from './app-log-follow.js';
import { type AppLogs, readAppLogs } from './app-logs.js';
import { neverActivated, runSpecFrom, specHash, toApp, workloadsOf } from './app-view.js';
import { appSlug } from './slug.js';

/** How often a followed log stream asks again whether its caller may still read the app. */
const ACCESS_RECHECK_MS = 30_000;

/** The use cases people drive through the API; the scaler and the replica reconciler do the rest. */
@Injectable()
export class AppsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly rpc: RpcClient,
    private readonly outbox: OutboxWriter,
    private readonly catalogue: CatalogueService,
    private readonly routes: Routes,
    @Inject(APP_RUNTIME) private readonly runtime: Runtime,
    private readonly logFollows: AppLogFollows,
    @Optional() private readonly retry: TransientRetry = new TransientRetry(),
  ) {}

  async activate(launcherId: string, input: ActivateAppInput, caller: Principal): Promise<App> {
    const { launcher, project } = await this.authorize(launcherId, caller, 'activate');
    const row = await this.retry.run(`activating app ${launcherId}`, () => this.outbox.transaction(async (manager) => {
      // Asking environments (rather than the read model) saw a launcher created a moment ago; keep that copy.
      await this.catalogue.upsertLauncher(manager, launcher);
      await this.catalogue.upsertProject(manager, project);
      // One at a time with the launcher's deletion (see retire; both take the copy's row first, then
      // this lock): whichever comes second sees the other, the deletion's tombstone or the app.
      await lockApp(manager, launcherId);
      if (await this.catalogue.isLauncherDeleted(manager, launcherId)) {
        throw new AppsError(EnvironmentsErrorCode.LAUNCHER_NOT_FOUND, `launcher "${launcher.name}" was deleted`);
      }
      const existing = await manager.findOne(AppEntity, { where: { launcherId }, lock: { mode: 'pessimistic_write' } });
      const settings = {
        minReplicas: input.minReplicas ?? existing?.minReplicas ?? APP_DEFAULT_SETTINGS.minReplicas,
        maxReplicas: input.maxReplicas ?? existing?.maxReplicas ?? APP_DEFAULT_SETTINGS.maxReplicas,
        targetConcurrency: input.targetConcurrency ?? existing?.targetConcurrency ?? APP_DEFAULT_SETTINGS.targetConcurrency,
        access: input.access ?? existing?.access ?? APP_DEFAULT_SETTINGS.access,
      };
      if (settings.minReplicas > settings.maxReplicas) {
        const message = `minReplicas (${settings.minReplicas}) cannot be more than maxReplicas (${settings.maxReplicas})`;
        throw new AppsError(CommonErrorCode.VALIDATION_FAILED, `invalid app settings: ${message}`, [{ path: 'minReplicas', message }]);
      }
      const spec = runSpecFrom(launcher, project.repositories);
      const hash = specHash(spec);
      // A new run (first activation, after deactivation or failure, or with another spec): replicas start afresh.
      const fresh = !existing || existing.status !== 'active' || existing.specHash !== hash;
      const now = new Date();
      const next = manager.create(AppEntity, {
        launcherId,
        projectId: launcher.projectId,
        name: launcher.name,
        slug: existing?.slug ?? (await this.freeSlug(manager, project.path, launcher)),
        status: 'active',
        message: null,
        ...settings,
        desiredReplicas: fresh ? settings.minReplicas : Math.min(settings.maxReplicas, Math.max(settings.minReplicas, existing.desiredReplicas)),
        generation: fresh ? (existing?.generation ?? 0) + 1 : existing.generation,
        spec,
        specHash: hash,
        command: fresh ? launcherCommand(spec) : existing.command,
        endpoints: fresh ? [] : existing.endpoints,
        routeVersion: (existing?.routeVersion ?? 0) + 1,
        lastRequestAt: existing?.lastRequestAt ?? null,
        activatedAt: now,
        activatedBy: caller.userId,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      });
      await manager.save(next);
      await this.outbox.append(manager, appActivatedV1, { launcherId, projectId: next.projectId, slug: next.slug, ...settings, activatedBy: caller.userId });
      return next;
    }));
    await this.routes.publish(launcherId);
    return toApp(row, await this.runtime.list());
  }

  async deactivate(launcherId: string, caller: Principal): Promise<App> {
    const { launcher } = await this.authorize(launcherId, caller, 'deactivate');
    const row = await this.retry.run(`deactivating app ${launcherId}`, () => this.outbox.transaction(async (manager) => {
      const row = await manager.findOne(AppEntity, { where: { launcherId }, lock: { mode: 'pessimistic_write' } });
      if (!row || row.status === 'inactive') return row;
      Object.assign(row, { status: 'inactive', message: null, desiredReplicas: 0, endpoints: [], routeVersion: row.routeVersion + 1, updatedAt: new Date() });
      await manager.save(row);
      await this.outbox.append(manager, appDeactivatedV1, { launcherId, projectId: row.projectId, slug: row.slug, reason: `deactivated by ${caller.userId}` });
      return row;
    }));
    if (!row) return neverActivated(launcher);
    await this.routes.publish(launcherId);
    return toApp(row, await this.runtime.list());
  }

  async get(launcherId: string, caller: Principal): Promise<App> {
    const launcher = await this.rpc.call(environmentsRpc.getLauncher, { caller, id: launcherId });
    this.assertApp(launcher);
    const row = await this.dataSource.getRepository(AppEntity).findOneBy({ launcherId });
    return row ? toApp(row, await this.runtime.list()) : neverActivated(launcher);
  }

  /** Every replica's output, within one reply: see readAppLogs. */
  async logs(launcherId: string, lines: number, cursor: Record<string, string> | null, caller: Principal): Promise<AppLogs> {
    await this.authorize(launcherId, caller, 'read the logs of');
    const replicas = workloadsOf(launcherId, await this.runtime.list()).map((w) => ({ id: w.id, label: replicaLabel(w.id) }));
    return readAppLogs((id, from, count, maxBytes) => this.runtime.logsAfter(id, from, count, maxBytes), replicas, lines, cursor);
  }

  /**
   * Follows every replica's output for the caller (see AppLogFollows), once authorised as `logs`.
   * The follow ends when the app is deleted or, looked at again every half minute, when the caller
   * may no longer read it.
   */
  async followLogs(launcherId: string, lines: number, streamId: string, caller: Principal): Promise<{ following: true }> {
    await this.authorize(launcherId, caller, 'read the logs of');
    let checkedAt = Date.now();
    this.logFollows.start({
      launcherId,
      lines,
      streamId,
      gone: async () => {
        if (!(await this.dataSource.getRepository(AppEntity).existsBy({ launcherId }))) return 'the app was deleted';
        if (Date.now() - checkedAt < ACCESS_RECHECK_MS) return null;
        checkedAt = Date.now();
        try {
          await this.authorize(launcherId, caller, 'read the logs of');
          return null;
        } catch (error) {
          // Environments unreachable: keep following, and ask again later. Any other answer: no longer allowed.
          if (error instanceof DomainError && error.code === CommonErrorCode.SERVICE_UNAVAILABLE) return null;
          return error instanceof Error ? error.message : 'no longer allowed to read the logs';
        }
      },
    });
    return { following: true };
  }

  /** The launcher is gone: so is its app (deactivated first, if it was on). Runs in the consumer's transaction. */
  async retire({ manager, afterCommit }: CatalogueChange, launcherId: string): Promise<void> {
    // After an activation under way, which then committed (its row is seen and removed), or before it (it sees the tombstone).
    await lockApp(manager, launcherId);
    const row = await manager.findOne(AppEntity, { where: { launcherId }, lock: { mode: 'pessimistic_write' } });
    if (!row) return;
    if (row.status !== 'inactive') {
      await this.outbox.append(manager, appDeactivatedV1, { launcherId, projectId: row.projectId, slug: row.slug, reason: 'its launcher was deleted' });
    }
    await manager.delete(AppEntity, { launcherId });
    afterCommit(() => void this.routes.publish(launcherId));
  }

  /** The launcher, as the caller may see it (404 otherwise), an app launcher, in a project where the caller may run things. */
  private async authorize(launcherId: string, caller: Principal, what: string): Promise<{ launcher: Launcher; project: Project }> {
    const launcher = await this.rpc.call(environmentsRpc.getLauncher, { caller, id: launcherId });
    this.assertApp(launcher);
    const { role, ...project } = await this.rpc.call(environmentsRpc.getProject, { caller, projectId: launcher.projectId });
    if (!canOperate(role, caller)) {
      throw new AppsError(
        EnvironmentsErrorCode.INSUFFICIENT_PROJECT_ROLE,
        `to ${what} app "${launcher.name}" you need the developer role or above in project ${project.path}; you are ${role ? `a ${role}` : 'not a member'}`,
      );
    }
    return { launcher, project };
  }

  private assertApp(launcher: Launcher): void {
    if (launcher.kind !== 'app') {
      throw new AppsError(AppsErrorCode.NOT_AN_APP_LAUNCHER, `launcher "${launcher.name}" starts sessions, not an app: start it with POST /api/v1/sessions instead`);
    }
  }

  private async freeSlug(manager: EntityManager, projectPath: string, launcher: Launcher): Promise<string> {
    // Two first activations at once must not pick the same name.
    await advisoryLock(manager, slugsLock);
    const probe = appSlug(projectPath, launcher.name, launcher.id, () => false);
    const taken = new Set((await manager.find(AppEntity, { select: { slug: true }, where: { slug: Like(`${probe}%`) } })).map((a) => a.slug));
    return appSlug(projectPath, launcher.name, launcher.id, (slug) => taken.has(slug));
  }
}

/** Serialises what changes one app's existence in the caller's transaction (released at commit). */
function lockApp(manager: EntityManager, launcherId: string): Promise<void> {
  return advisoryLock(manager, appLock(launcherId));
}
