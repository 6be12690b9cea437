import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  EnvironmentsErrorCode,
  environmentsRpc,
  type Launcher,
  runSettingsOf,
  type launchSessionInputSchema,
  type Principal,
  type Project,
  type Session,
  type SessionProgress,
  type SessionStatus,
  SessionsError,
  SessionsErrorCode,
  type updateSessionInputSchema,
} from '@launchpad/contracts';
import { CatalogueService } from '@launchpad/catalogue';
import { OutboxWriter, RpcClient } from '@launchpad/messaging';
import { advisoryLock, runTogether, type SecretBox, TransientRetry } from '@launchpad/persistence';
import type { Runtime, StorageMount } from '@launchpad/runtime';
import { DataSource, type EntityManager, MoreThan, Not } from 'typeorm';
import type { z } from 'zod';
import { launcherLock, userLauncherLock } from '../locks.js';
import { placementOf } from '../resource-pools/resource-pool.entity.js';
import { ResourcePoolsService } from '../resource-pools/resource-pools.service.js';
import { type ThresholdRequest, thresholdsFor } from '../resource-pools/thresholds.js';
import { estimateFrom, LaunchTimings } from '../launch-estimates/launch-timings.js';
import { SessionEntity, SessionProgressEntity, type SessionRunSpec } from './session.entity.js';
import { composeSessionEnv, type EnvOverride, openSecretEnv, sealSecretEnv, SESSION_SECRETS } from './session-env.js';
import { newSessionSecret, programSecretOf } from './session-secret.js';
import { SessionTransitions } from './session-transitions.js';
import { SessionWakeups } from './session-wakeups.js';
import { type SecretFile, SecretsService } from '../secrets/secrets.service.js';
import { DataConnectorsService } from '../data-connectors/data-connectors.service.js';
import { type CullingPolicy, toProgress, toSession } from './session-view.js';
import { SESSION_RUNTIME, SESSIONS_CULLING } from './tokens.js';

type LaunchInput = z.output<typeof launchSessionInputSchema>;
type UpdateInput = z.output<typeof updateSessionInputSchema>;

export function runSpecFrom(launcher: Pick<Launcher, 'environment' | 'pin' | 'projectId'>, repositories: Project['repositories']): SessionRunSpec {
  const e = launcher.environment;
  return {
    build: e.kind === 'code' && launcher.pin ? { projectId: launcher.projectId, sha: launcher.pin.sha } : null,
    ...runSettingsOf(e),
    auth: e.auth ?? { kind: 'none' },
    // The environment's user; its group also owns the work volume (fsGroup), so the program can write to it.
    security: { uid: e.uid, gid: e.gid, fsGroup: e.gid },
    repositories,
  };
}

/** The run spec with the launcher's variables and the launch's overrides, and the sealed secret ones. */
function runSpecWithEnv(
  box: SecretBox,
  sessionId: string,
  launcher: Launcher,
  repositories: Project['repositories'],
  secretValues: Record<string, string>,
  overrides: EnvOverride[],
  files: SecretFile[],
  mounts: StorageMount[],
): { spec: SessionRunSpec; secretEnv: string | null } {
  const base = runSpecFrom(launcher, repositories);
  const env = composeSessionEnv(base.env, launcher, secretValues, overrides);
  const extra = { ...(files.length > 0 ? { files } : {}), ...(mounts.length > 0 ? { mounts } : {}) };
  const secret = Object.keys(extra).length > 0 ? { ...(env.secret ?? { env: {}, overrides: {} }), ...extra } : env.secret;
  return {
    spec: { ...base, env: env.plain, ...(env.plainOverrides.length > 0 ? { envVariableOverrides: env.plainOverrides } : {}) },
    secretEnv: sealSecretEnv(box, sessionId, secret),
  };
}

/** The launch's idle time over its launcher's; the launcher's hibernation threshold (a launch asks none). */
function thresholdRequest(launcher: Pick<Launcher, 'idleThresholdS' | 'hibernationThresholdS'> | null, launchIdleS: number | undefined): ThresholdRequest {
  return {
    idleS: launchIdleS ?? launcher?.idleThresholdS ?? null,
    idleSource: launchIdleS !== undefined ? 'idleThresholdS' : "the launcher's idleThresholdS",
    hibernationS: launcher?.hibernationThresholdS ?? null,
    hibernationSource: "the launcher's hibernationThresholdS",
  };
}

/**
 * The use cases a session's owner drives through the API. The reconciler does the rest. Each
 * takes its locks in the order of locks.ts, and runs its transaction again on a deadlock or
 * serialization failure (TransientRetry), so that racing colleagues never see a 500.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly rpc: RpcClient,
    private readonly outbox: OutboxWriter,
    private readonly pools: ResourcePoolsService,
    private readonly catalogue: CatalogueService,
    private readonly transitions: SessionTransitions,
    private readonly userSecrets: SecretsService,
    private readonly connectors: DataConnectorsService,
    private readonly retry: TransientRetry,
    private readonly timings: LaunchTimings,
    @Inject(SESSIONS_CULLING) private readonly culling: CullingPolicy,
    @Inject(SESSION_RUNTIME) private readonly runtime: Runtime,
    @Inject(SESSION_SECRETS) private readonly secrets: SecretBox,
    private readonly wakeups: SessionWakeups,
  ) {}

  async launch(input: LaunchInput, caller: Principal): Promise<{ created: boolean; session: Session }> {
    // Asking environments (rather than the read model) authorises the caller on the project and
    // sees a launcher created a moment ago, before its event has reached us.
    const { launcher, project } = await this.rpc.call(environmentsRpc.getLauncherWithProject, { caller, id: input.launcherId });
    if (launcher.kind !== 'session') {
      throw new SessionsError(SessionsErrorCode.NOT_A_SESSION_LAUNCHER, `launcher "${launcher.name}" starts an app, not a session: activate it through /api/v1/apps instead`);
    }
    const secretValues = await this.secretValuesOf(launcher, caller);
    await this.keepCopy(launcher, project);
    const launched = await this.retry.run(`launching ${launcher.id} for ${caller.userId}`, () => this.outbox.transaction(async (manager) => {
      // One at a time with the launcher's deletion (see SessionsCatalogueHooks): whichever comes
      // second sees the other, the tombstone or the session to retire.
      await advisoryLock(manager, launcherLock(launcher.id), 'shared');
      if (await this.catalogue.isLauncherDeleted(manager, launcher.id)) {
        throw new SessionsError(EnvironmentsErrorCode.LAUNCHER_NOT_FOUND, `launcher "${launcher.name}" was deleted`);
      }
      // Two clicks on "start" must not make two sessions.
      await advisoryLock(manager, userLauncherLock(caller.userId, launcher.id));
      const existing = await manager.findOneBy(SessionEntity, { userId: caller.userId, launcherId: launcher.id, desiredState: Not('deleted' as const) });
      if (existing) return { created: false, session: toSession(existing, this.culling) };
      const now = new Date();
      const resolved = await this.pools.resolveClass(manager, input.resourceClassId ?? launcher.resourceClassId, caller);
      await this.pools.reserve(manager, resolved, caller.userId);
      const idle = thresholdsFor(resolved.pool, thresholdRequest(launcher, input.idleThresholdS), this.culling);
      const requestedDisk = input.diskStorageGb ?? launcher.diskStorageGb ?? null;
      const diskGb = this.pools.diskFor(resolved.cls, requestedDisk, input.diskStorageGb !== undefined ? 'diskStorageGb' : `the launcher's diskStorageGb`);
      const id = randomUUID();
      const files = await this.userSecrets.filesFor(manager, launcher.projectId, caller.userId);
      const mounts = await this.connectors.mountsFor(manager, launcher.projectId, caller.userId, input.dataConnectorsOverrides ?? []);
      const { spec, secretEnv } = runSpecWithEnv(this.secrets, id, launcher, project.repositories, secretValues, input.envVariableOverrides ?? [], files, mounts);
      const row = manager.create(SessionEntity, {
        id,
        userId: caller.userId,
        launcherId: launcher.id,
        projectId: launcher.projectId,
        name: launcher.name,
        status: 'starting',
        desiredState: 'running',
        phase: 'queued',
        message: null,
        image: launcher.environment.image,
        spec: {
          ...spec,
          diskStorageGb: requestedDisk,
          placement: placementOf(resolved.cls),
          ...(input.idleThresholdS !== undefined ? { idleThresholdS: input.idleThresholdS } : {}),
          ...(input.dataConnectorsOverrides?.length ? { dataConnectorsOverrides: input.dataConnectorsOverrides } : {}) },
        secretEnv,
        secret: newSessionSecret(),
        launchEstimate: estimateFrom(await this.timings.last(manager, launcher.id, 'launch'), now),
        resourceClassId: resolved.cls.id,
        resourcePoolId: resolved.pool.id,
        cpu: resolved.cls.cpu,
        memoryGb: resolved.cls.memoryGb,
        gpu: resolved.cls.gpu,
        diskGb,
        idleTimeoutMs: idle.idleTimeoutMs,
        hibernatedTtlMs: idle.hibernatedTtlMs,
        progressSeq: 0,
        createdAt: now,
        updatedAt: now,
        lastInteraction: now,
      });
      await this.transitions.record(
        manager,
        row,
        { status: 'starting', phase: 'queued', message: `queued: starting "${launcher.name}" with class "${resolved.cls.name}"` },
        { announceStatus: true, inserting: true },
      );
      return { created: true, session: toSession(row, this.culling) };
    }));
    if (launched.created) this.wakeups.changed(launched.session.id);
    return launched;
  }

  async list(caller: Principal): Promise<Session[]> {
    const rows = await this.dataSource.getRepository(SessionEntity).find({
      where: { userId: caller.userId, desiredState: Not('deleted' as const) },
      order: { createdAt: 'ASC' },
    });
    return rows.map((r) => toSession(r, this.culling));
  }

  async get(id: string, caller: Principal): Promise<Session> {
    return toSession(await this.findOwn(this.dataSource.manager, id, caller), this.culling);
  }

  async update(id: string, input: UpdateInput, caller: Principal): Promise<Session> {
    // A resume runs the launcher as it is now, for someone who may still read the project.
    const fresh = input.state === 'running' ? await this.launcherFor(id, caller) : null;
    if (fresh) await this.keepCopy(fresh.launcher, fresh.project);
    const session = await this.retry.run(`${input.state === 'running' ? 'resuming' : 'hibernating'} session ${id}`, () => this.outbox.transaction(async (manager) => {
      const row = await this.findOwn(manager, id, caller, true);
      const now = new Date();
      if (input.state === 'hibernated') {
        if (row.desiredState === 'hibernated') return toSession(row, this.culling);
        await this.transitions.record(manager, row, {
          status: 'stopping',
          desiredState: 'hibernated',
          phase: 'hibernating',
          message: 'hibernating: stopping the session; its files are kept',
          hibernationReason: `hibernated by ${caller.userId}`,
          lastInteraction: now,
        });
        return toSession(row, this.culling);
      }
      if (input.resourceClassId !== undefined && input.resourceClassId !== row.resourceClassId && row.desiredState === 'running' && row.status !== 'failed') {
        throw new SessionsError(
          SessionsErrorCode.SESSION_NOT_HIBERNATED,
          `session ${id} is ${row.status}: hibernate it first (PATCH {"state":"hibernated"}), then resume it with resource class "${input.resourceClassId}"`,
        );
      }
      if (input.state === undefined || (row.desiredState === 'running' && row.status !== 'failed')) {
        // A snooze ({"lastInteraction":"now"}), or "running" for a session that runs: it is in use.
        if (row.desiredState !== 'running' && input.state === undefined) return toSession(row, this.culling);
        row.lastInteraction = now;
        await manager.update(SessionEntity, { id }, { lastInteraction: now });
        return toSession(row, this.culling);
      }
      // Its class as it is now, or the one it is resumed with (its work directory goes along).
      const resolved = await this.pools.resolveClass(manager, input.resourceClassId ?? row.resourceClassId, caller);
      // The row holds resources while it is still stopping: it must not count against itself.
      await this.pools.reserve(manager, resolved, row.userId, row.id);
      // The disk it asked for, within the class as it is now.
      const diskGb = this.pools.diskFor(resolved.cls, row.spec.diskStorageGb);
      const classChanged = resolved.cls.id !== row.resourceClassId;
      // What the launch, else the launcher as it is now, asks for, within the pool it resumes in.
      Object.assign(row, thresholdsFor(resolved.pool, thresholdRequest(fresh?.launcher ?? null, row.spec.idleThresholdS ?? undefined), this.culling));
      Object.assign(row, { resourceClassId: resolved.cls.id, resourcePoolId: resolved.pool.id, cpu: resolved.cls.cpu, memoryGb: resolved.cls.memoryGb, gpu: resolved.cls.gpu, diskGb });
      if (fresh) {
        row.image = fresh.launcher.environment.image;
        // The launcher's variables as they are now, with the overrides this session was launched with.
        const overrides = [...(row.spec.envVariableOverrides ?? []), ...Object.entries(openSecretEnv(this.secrets, row.id, row.secretEnv)?.overrides ?? {}).map(([name, value]) => ({ name, value }))];
        const files = await this.userSecrets.filesFor(manager, row.projectId, row.userId);
        const mounts = await this.connectors.mountsFor(manager, row.projectId, row.userId, row.spec.dataConnectorsOverrides ?? []);
        const next = runSpecWithEnv(this.secrets, row.id, fresh.launcher, fresh.project.repositories, fresh.secretValues, overrides, files, mounts);
        row.spec = {
          ...next.spec,
          diskStorageGb: row.spec.diskStorageGb ?? null,
          ...(row.spec.idleThresholdS !== undefined ? { idleThresholdS: row.spec.idleThresholdS } : {}),
          ...(row.spec.dataConnectorsOverrides ? { dataConnectorsOverrides: row.spec.dataConnectorsOverrides } : {}),
        };
        row.secretEnv = next.secretEnv;
      }
      // Placement and limits as the class is now, like its cpu and memory.
      row.spec = { ...row.spec, placement: placementOf(resolved.cls) };
      row.launchEstimate = estimateFrom(await this.timings.last(manager, row.launcherId, 'resume'), now);
      await this.transitions.record(manager, row, {
        status: 'starting',
        desiredState: 'running',
        phase: 'resuming',
        message:
          (row.status === 'failed' ? 'retrying: starting the session again' : 'resuming: starting the session with its files') +
          (classChanged ? `, now with class "${resolved.cls.name}"` : ''),
        lastInteraction: now,
        hibernatedAt: null,
        hibernationReason: null,
      });
      return toSession(row, this.culling);
    }));
    this.wakeups.changed(id);
    return session;
  }

  async delete(id: string, caller: Principal): Promise<void> {
    await this.retry.run(`deleting session ${id}`, () => this.outbox.transaction(async (manager) => {
      const row = await this.findOwn(manager, id, caller, true);
      if (row.desiredState === 'deleted') return;
      await this.transitions.record(manager, row, {
        status: 'stopping',
        desiredState: 'deleted',
        phase: 'stopping',
        message: 'stopping: the session and its files are being deleted',
      });
    }));
    this.wakeups.changed(id);
  }

  /**
   * Keeps the read model's copy of what environments just answered (it may be newer than the last
   * event), in a statement of its own (both upserts, atomic, one round trip): the copy's rows come
   * first in the lock order, and a use case holding them for its whole transaction would queue
   * every launch of the launcher.
   */
  private async keepCopy(launcher: Launcher, project: Project): Promise<void> {
    await this.retry.run(`keeping the copy of launcher ${launcher.id}`, () =>
      runTogether(this.dataSource.manager, [this.catalogue.upsertLauncherStatement(launcher), this.catalogue.upsertProjectStatement(project)]),
    );
  }

  async logs(id: string, lines: number, caller: Principal): Promise<string[]> {
    await this.findOwn(this.dataSource.manager, id, caller);
    return this.runtime.logs(id, lines);
  }

  async progress(id: string, afterSeq: number, caller: Principal): Promise<{ items: SessionProgress[]; status: SessionStatus }> {
    const row = await this.findOwn(this.dataSource.manager, id, caller);
    const items = await this.dataSource.getRepository(SessionProgressEntity).find({
      where: { sessionId: id, seq: MoreThan(afterSeq) },
      order: { seq: 'ASC' },
    });
    return { items: items.map(toProgress), status: row.status };
  }

  /** Where the gateway's proxy sends the owner's traffic. */
  async route(id: string, caller: Principal): Promise<{ status: SessionStatus; endpoint: string | null; secret: string | null }> {
    const row = await this.findOwn(this.dataSource.manager, id, caller);
    const running = row.status === 'running';
    return { status: row.status, endpoint: running ? row.endpoint : null, secret: running ? programSecretOf(row) : null };
  }

  /** The gateway saw traffic: the session is in use and its idle clock restarts. */
  async touch(id: string, at: Date): Promise<void> {
    const capped = new Date(Math.min(at.getTime(), Date.now()));
    await this.dataSource.query(`UPDATE sessions SET last_interaction = greatest(last_interaction, $2) WHERE id = $1`, [id, capped]);
  }

  /** The session's launcher and project, asked of environments as the caller (so access is checked again). */
  private async launcherFor(id: string, caller: Principal): Promise<{ launcher: Launcher; project: Project; secretValues: Record<string, string> }> {
    const row = await this.findOwn(this.dataSource.manager, id, caller);
    const { launcher, project } = await this.rpc.call(environmentsRpc.getLauncherWithProject, { caller, id: row.launcherId });
    return { launcher, project, secretValues: await this.secretValuesOf(launcher, caller) };
  }

  /**
   * The values of the launcher's secret variables, asked of environments as the caller. A reply
   * over core NATS request-reply (in no stream, no log): the one way they travel.
   */
  private async secretValuesOf(launcher: Launcher, caller: Principal): Promise<Record<string, string>> {
    if (!launcher.envVariables.some((v) => v.secret)) return {};
    return (await this.rpc.call(environmentsRpc.getLauncherSecretValues, { caller, id: launcher.id })).values;
  }

  /** Only the person who started a session sees it; to anyone else it does not exist. */
  private async findOwn(manager: EntityManager, id: string, caller: Principal, lock = false): Promise<SessionEntity> {
    const row = await manager.findOne(SessionEntity, { where: { id, userId: caller.userId }, ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
    // A session being deleted is gone for its owner too: it cannot be resumed or hibernated.
    if (!row || (lock && row.desiredState === 'deleted')) {
      throw new SessionsError(SessionsErrorCode.SESSION_NOT_FOUND, `session ${id} was not found among your sessions`);
    }
    return row;
  }
}
