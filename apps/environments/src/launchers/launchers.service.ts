import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  type Build,
  EnvironmentsError,
  EnvironmentsErrorCode,
  launcherCreatedV2,
  launcherDeletedV1,
  launcherUpdatedV2,
  type createLauncherInputSchema,
  type Launcher,
  type launcherEnvironmentInputSchema,
  type Principal,
  type Project,
  type ProjectRole,
  type updateLauncherInputSchema,
} from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import { advisoryLock, isUniqueViolation, type SecretBox } from '@launchpad/persistence';
import { DataSource, type EntityManager } from 'typeorm';
import type { z } from 'zod';
import { BRANCH_PLACE, branchPlaceOf, ProjectBuildEntity } from '../builds/project-build.entity.js';
import { ProjectBuilds } from '../builds/project-builds.js';
import { launchersLock } from '../locks.js';
import { EnvironmentEntity } from '../environments/environment.entity.js';
import { canEditLaunchers } from '../projects/project-access.js';
import { type ProjectAccess, ProjectsService } from '../projects/projects.service.js';
import { toProject } from '../projects/project.entity.js';
import { LauncherEntity, toLauncher } from './launcher.entity.js';
import { LAUNCHER_LIMITS, launcherLimitProblem, type LauncherLimits } from './launcher-limits.js';
import { LAUNCHER_SECRETS, openSecretVariables, rewrapEnvVariables, storeEnvVariables } from './launcher-variables.js';

type CreateInput = z.output<typeof createLauncherInputSchema>;
type UpdateInput = z.output<typeof updateLauncherInputSchema>;
type EnvironmentChoice = z.output<typeof launcherEnvironmentInputSchema>;

/** The build a launcher made from code runs. */
interface Pin {
  ref: string;
  sha: string;
  image: string;
  pipelineId: number | null;
}

const NO_PIN = { pinRef: null, pinSha: null, pinImage: null, pinPipelineId: null };
const NO_UPDATE = { updateSha: null, updateImage: null, updatePipelineId: null, updateAt: null };

@Injectable()
export class LaunchersService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly projects: ProjectsService,
    private readonly outbox: OutboxWriter,
    private readonly builds: ProjectBuilds,
    @Inject(LAUNCHER_SECRETS) private readonly secrets: SecretBox,
    @Inject(LAUNCHER_LIMITS) private readonly limits: LauncherLimits,
  ) {}

  async list(projectId: string, caller: Principal): Promise<Launcher[]> {
    await this.projects.access(projectId, caller);
    const rows = await this.dataSource.getRepository(LauncherEntity).find({
      where: { projectId },
      order: { isDefault: 'DESC', createdAt: 'ASC' },
    });
    return rows.map(toLauncher);
  }

  async get(id: string, caller: Principal): Promise<Launcher> {
    const launcher = await this.findReadable(this.dataSource.manager, id, caller);
    return toLauncher(launcher.entity);
  }

  /** The launcher and its project from the one access check that lets the caller see both. */
  async getWithProject(id: string, caller: Principal): Promise<{ launcher: Launcher; project: Project & { role: ProjectRole | null } }> {
    const { entity, access } = await this.findReadable(this.dataSource.manager, id, caller);
    return { launcher: toLauncher(entity), project: { ...toProject(access.project), role: access.role } };
  }

  async create(projectId: string, input: CreateInput, caller: Principal): Promise<Launcher> {
    return this.outbox.transaction(async (manager) => {
      const access = await this.projects.access(projectId, caller, manager);
      this.requireEditor(access, caller, 'create launchers');
      // Serialise launcher writes per project so the default mark cannot be lost in a race, nor
      // two launches of "create" both take the project's last launcher.
      await advisoryLock(manager, launchersLock(projectId));
      const overLimit = launcherLimitProblem(access.project.path, this.limits.perProject, await manager.countBy(LauncherEntity, { projectId }));
      if (overLimit) throw new EnvironmentsError(EnvironmentsErrorCode.LAUNCHER_LIMIT_REACHED, overLimit);
      const { environment, pin } = await this.resolveEnvironment(manager, projectId, input.name, input.environment, null, caller);
      const hasDefault = await manager.existsBy(LauncherEntity, { projectId, isDefault: true });
      const makeDefault = input.isDefault === true || !hasDefault;
      if (makeDefault && hasDefault) await this.clearDefault(manager, projectId);
      const id = randomUUID();
      const saved = await manager
        .save(
          manager.create(LauncherEntity, {
            id,
            projectId,
            name: input.name,
            description: input.description ?? null,
            kind: input.kind,
            environmentId: environment.id,
            resourceClassId: input.resourceClassId ?? null,
            isDefault: makeDefault,
            createdBy: caller.userId,
            envVariables: storeEnvVariables(this.secrets, id, input.envVariables ?? [], []),
            diskStorageGb: input.diskStorageGb ?? null,
            idleThresholdS: input.idleThresholdS ?? null,
            hibernationThresholdS: input.hibernationThresholdS ?? null,
            ...pinColumns(pin),
            ...NO_UPDATE,
          }),
        )
        .catch((error: unknown) => rethrowNameTaken(error, input.name, access.project.path));
      const launcher = toLauncher(await manager.findOneByOrFail(LauncherEntity, { id: saved.id }));
      await this.outbox.append(manager, launcherCreatedV2, launcher);
      return launcher;
    });
  }

  async update(id: string, input: UpdateInput, caller: Principal): Promise<Launcher> {
    return this.outbox.transaction(async (manager) => {
      // The project's launcher lock first, then the row (the order offerUpdate takes them in, so
      // the two cannot deadlock): a build that succeeds meanwhile may be flagging this launcher.
      const found = await manager.findOne(LauncherEntity, { where: { id }, select: { id: true, projectId: true }, loadEagerRelations: false });
      if (found) await advisoryLock(manager, launchersLock(found.projectId));
      const { entity, access } = await this.findReadable(manager, id, caller, true);
      this.requireEditor(access, caller, 'edit launchers');
      if (input.environment) {
        const { environment, pin } = await this.resolveEnvironment(manager, entity.projectId, input.name ?? entity.name, input.environment, entity, caller);
        entity.environmentId = environment.id;
        entity.environment = environment;
        if (pin?.sha !== entity.pinSha || pin?.ref !== entity.pinRef) Object.assign(entity, pinColumns(pin), NO_UPDATE);
      }
      if (input.isDefault && !entity.isDefault) {
        await this.clearDefault(manager, entity.projectId);
        entity.isDefault = true;
      }
      if (input.name !== undefined) entity.name = input.name;
      if (input.description !== undefined) entity.description = input.description;
      if (input.resourceClassId !== undefined) entity.resourceClassId = input.resourceClassId;
      if (input.envVariables !== undefined) entity.envVariables = storeEnvVariables(this.secrets, entity.id, input.envVariables, entity.envVariables ?? []);
      if (input.diskStorageGb !== undefined) entity.diskStorageGb = input.diskStorageGb;
      if (input.idleThresholdS !== undefined) entity.idleThresholdS = input.idleThresholdS;
      if (input.hibernationThresholdS !== undefined) entity.hibernationThresholdS = input.hibernationThresholdS;
      entity.updatedAt = new Date();
      await manager.save(entity).catch((error: unknown) => rethrowNameTaken(error, entity.name, access.project.path));
      await this.deleteOrphanedCustomEnvironments(manager, entity.projectId);
      const launcher = toLauncher(await manager.findOneByOrFail(LauncherEntity, { id }));
      await this.outbox.append(manager, launcherUpdatedV2, launcher);
      return launcher;
    });
  }

  /**
   * The values of the launcher's secret variables, for the sessions service to start a session of
   * `caller` with (who may read the project, and so start it). Answered over request-reply only,
   * never put in an event; no API route leads here.
   */
  async secretValues(id: string, caller: Principal): Promise<Record<string, string>> {
    const { entity } = await this.findReadable(this.dataSource.manager, id, caller);
    return openSecretVariables(this.secrets, entity.id, entity.envVariables);
  }

  /** After a key rotation: re-wraps every secret variable sealed with an older key. Returns how many launchers changed. */
  async rewrapSecrets(): Promise<number> {
    if (!this.secrets.configured) return 0;
    const rows = await this.dataSource.getRepository(LauncherEntity).createQueryBuilder('l').where(`l.env_variables @> '[{"secret": true}]'`).getMany();
    let changed = 0;
    for (const row of rows) {
      const next = rewrapEnvVariables(this.secrets, row.id, row.envVariables);
      if (!next) continue;
      await this.dataSource.getRepository(LauncherEntity).update({ id: row.id }, { envVariables: next });
      changed++;
    }
    return changed;
  }

  /** Moves a launcher made from code to the build its update flag names; without a flag, changes nothing. */
  async updateToLatest(id: string, caller: Principal): Promise<Launcher> {
    return this.outbox.transaction(async (manager) => {
      const { entity, access } = await this.findReadable(manager, id, caller, true);
      this.requireEditor(access, caller, 'update launchers');
      if (entity.environment.kind !== 'code' || entity.pinRef === null) {
        throw new EnvironmentsError(
          EnvironmentsErrorCode.NOT_A_CODE_LAUNCHER,
          `launcher "${entity.name}" is not made from code, so it has no build to update to; change its environment instead`,
        );
      }
      if (entity.updateSha === null || entity.updateImage === null) return toLauncher(entity);
      const image = entity.updateImage;
      Object.assign(entity, pinColumns({ ref: entity.pinRef, sha: entity.updateSha, image, pipelineId: entity.updatePipelineId }), NO_UPDATE);
      entity.environment.image = image;
      entity.environment.updatedAt = new Date();
      entity.updatedAt = new Date();
      await manager.save(entity.environment);
      await manager.save(entity);
      const launcher = toLauncher(await manager.findOneByOrFail(LauncherEntity, { id }));
      await this.outbox.append(manager, launcherUpdatedV2, launcher);
      return launcher;
    });
  }

  /**
   * A build changed: every launcher of its project and branch pinned to an older commit than the
   * branch's newest succeeded build is told so (and nothing else about it changes). Older means a
   * lower pipeline id than the pinned commit has *now* in the read model (a commit announced by a
   * push learns its pipeline later, and a launcher may be pinned before that): while the pinned
   * commit's pipeline is unknown, no other commit is offered, and once it becomes known the offer
   * is made then. Runs in the caller's transaction, under the project's launcher lock (so a
   * launcher created meanwhile is either seen here or pinned to this build); returns how many
   * launchers were flagged.
   */
  async offerUpdate(manager: EntityManager, build: Build): Promise<number> {
    if (build.tag || build.ref === null) return 0;
    await advisoryLock(manager, launchersLock(build.projectId));
    const newest = await this.builds.newestSucceededOnBranch(manager, build.projectId, build.ref);
    const place = newest && branchPlaceOf(newest);
    if (!newest || place === null) return 0;
    // Places on the branch (see ProjectBuilds): the pinned commit's as known now, not as it was when pinned.
    const stale = await manager
      .getRepository(LauncherEntity)
      .createQueryBuilder('l')
      .setLock('pessimistic_write', undefined, ['l'])
      .innerJoinAndSelect('l.environment', 'e')
      .innerJoin(ProjectBuildEntity, 'pinned', 'pinned.project_id = l.project_id AND pinned.sha = l.pin_sha')
      .where('l.project_id = :projectId AND l.pin_ref = :ref AND l.pin_sha <> :sha', { projectId: build.projectId, ref: build.ref, sha: newest.sha })
      .andWhere(`${BRANCH_PLACE('pinned')} < :place`, { place })
      .andWhere('(l.update_pipeline_id IS NULL OR l.update_pipeline_id < :place)', { place })
      .getMany();
    const at = newest.finishedAt ?? newest.createdAt;
    for (const launcher of stale) {
      Object.assign(launcher, { updateSha: newest.sha, updateImage: newest.image, updatePipelineId: place, updateAt: at, updatedAt: new Date() });
      await manager.save(launcher);
      await this.outbox.append(manager, launcherUpdatedV2, await this.reread(manager, launcher.id));
    }
    return stale.length;
  }

  async delete(id: string, caller: Principal): Promise<void> {
    await this.outbox.transaction(async (manager) => {
      const { entity, access } = await this.findReadable(manager, id, caller);
      this.requireEditor(access, caller, 'delete launchers');
      await advisoryLock(manager, launchersLock(entity.projectId));
      await manager.delete(LauncherEntity, { id });
      await this.deleteOrphanedCustomEnvironments(manager, entity.projectId);
      await this.outbox.append(manager, launcherDeletedV1, { id, projectId: entity.projectId, deletedBy: caller.userId });
      if (entity.isDefault) {
        // A project keeps a one-click start: the oldest remaining launcher inherits the mark.
        const heir = await manager.findOne(LauncherEntity, { where: { projectId: entity.projectId }, order: { createdAt: 'ASC' } });
        if (heir) {
          heir.isDefault = true;
          heir.updatedAt = new Date();
          await manager.save(heir);
          await this.outbox.append(manager, launcherUpdatedV2, await this.reread(manager, heir.id));
        }
      }
    });
  }

  private async findReadable(manager: EntityManager, id: string, caller: Principal, lock = false): Promise<{ entity: LauncherEntity; access: ProjectAccess }> {
    // With its environment in one statement (findOneBy, for the eager relation, asked twice: the id, then the rows).
    const query = manager.getRepository(LauncherEntity).createQueryBuilder('l').innerJoinAndSelect('l.environment', 'e').where('l.id = :id', { id });
    const entity = await (lock ? query.setLock('pessimistic_write', undefined, ['l']) : query).getOne();
    const notFound = new EnvironmentsError(EnvironmentsErrorCode.LAUNCHER_NOT_FOUND, `launcher ${id} was not found`);
    if (!entity) throw notFound;
    try {
      return { entity, access: await this.projects.access(entity.projectId, caller, manager) };
    } catch (error) {
      // Someone who cannot see the project must not learn that the launcher exists.
      if (error instanceof EnvironmentsError && error.code === EnvironmentsErrorCode.PROJECT_NOT_FOUND) throw notFound;
      throw error;
    }
  }

  private requireEditor(access: ProjectAccess, caller: Principal, action: string): void {
    if (!canEditLaunchers(access.role, caller)) {
      throw new EnvironmentsError(
        EnvironmentsErrorCode.INSUFFICIENT_PROJECT_ROLE,
        `to ${action} in ${access.project.path} you need the developer role or above; you are ${access.role ?? 'not a member'}`,
      );
    }
  }

  /**
   * A global environment by id, or the launcher's own one (custom, or made from code with its pin),
   * updated in place when it had one.
   */
  private async resolveEnvironment(
    manager: EntityManager,
    projectId: string,
    launcherName: string,
    choice: EnvironmentChoice,
    launcher: LauncherEntity | null,
    caller: Principal,
  ): Promise<{ environment: EnvironmentEntity; pin: Pin | null }> {
    const previous = launcher?.environment ?? null;
    if (choice.kind === 'global') {
      const global = await manager.findOneBy(EnvironmentEntity, { id: choice.id, kind: 'global' });
      if (!global) {
        throw new EnvironmentsError(EnvironmentsErrorCode.ENVIRONMENT_NOT_FOUND, `global environment ${choice.id} was not found`, [
          { path: 'environment.id', message: 'no global environment has this id' },
        ]);
      }
      // Archived: the launchers that use it keep it, no launcher newly takes it.
      if (global.isArchived && previous?.id !== global.id) {
        throw new EnvironmentsError(
          EnvironmentsErrorCode.ENVIRONMENT_ARCHIVED,
          `environment "${global.name}" is archived: it still runs the launchers that use it, but new launchers need another environment`,
          [{ path: 'environment.id', message: 'this environment is archived' }],
        );
      }
      return { environment: global, pin: null };
    }
    let pin: Pin | null = null;
    let fields;
    if (choice.kind === 'code') {
      const { kind: _kind, name, ref, sha, ...settings } = choice;
      pin = await this.resolvePin(manager, projectId, ref, sha, launcher);
      fields = { ...settings, image: pin.image, kind: 'code' as const, name: name ?? `${launcherName} environment`, updatedAt: new Date() };
    } else {
      const { kind: _kind, name, ...settings } = choice;
      fields = { ...settings, kind: 'custom' as const, name: name ?? `${launcherName} environment`, updatedAt: new Date() };
    }
    if (previous && previous.kind !== 'global') {
      Object.assign(previous, fields);
      return { environment: await manager.save(previous), pin };
    }
    const environment = await manager.save(
      manager.create(EnvironmentEntity, { ...fields, projectId, description: null, keywords: [], isDefault: false, createdBy: caller.userId }),
    );
    return { environment, pin };
  }

  /**
   * Which build a launcher made from code runs: the build of `sha` when given; otherwise, when the
   * launcher already runs a build of the same branch, that one (changing run settings does not
   * move the pin); otherwise the newest succeeded build of the branch, or, while none has
   * succeeded, its newest build of any status (a session waits for it).
   */
  private async resolvePin(manager: EntityManager, projectId: string, ref: string | undefined, sha: string | undefined, launcher: LauncherEntity | null): Promise<Pin> {
    const project = (await manager.query(`SELECT path FROM projects WHERE id = $1`, [projectId]))[0]?.path ?? projectId;
    if (sha !== undefined) {
      const build = await this.builds.byCommit(manager, projectId, sha);
      if (!build) {
        throw new EnvironmentsError(
          EnvironmentsErrorCode.BUILD_NOT_AVAILABLE,
          `no image build of commit ${sha} in ${project} is known: its pipeline must run the image job and report to Launchpad's GitLab webhook`,
          [{ path: 'environment.sha', message: 'no build of this commit is known' }],
        );
      }
      return { ref: ref ?? build.ref ?? build.sha, sha: build.sha, image: build.image, pipelineId: build.pipelineId };
    }
    const branch = ref ?? launcher?.pinRef ?? (await this.builds.defaultBranch(manager, projectId)) ?? 'main';
    if (launcher?.pinRef === branch && launcher.pinSha !== null && launcher.pinImage !== null) {
      return { ref: branch, sha: launcher.pinSha, image: launcher.pinImage, pipelineId: launcher.pinPipelineId };
    }
    const build = await this.builds.newestOnBranch(manager, projectId, branch);
    if (!build) {
      throw new EnvironmentsError(
        EnvironmentsErrorCode.BUILD_NOT_AVAILABLE,
        `no image build of branch ${branch} in ${project} is known yet: push a commit whose pipeline runs the image job (and set up the GitLab webhook), then try again`,
        [{ path: 'environment.ref', message: `no build of branch ${branch} is known` }],
      );
    }
    return { ref: branch, sha: build.sha, image: build.image, pipelineId: build.pipelineId };
  }

  private async deleteOrphanedCustomEnvironments(manager: EntityManager, projectId: string): Promise<void> {
    await manager.query(
      `DELETE FROM environments e WHERE e.kind IN ('custom', 'code') AND e.project_id = $1
         AND NOT EXISTS (SELECT 1 FROM launchers l WHERE l.environment_id = e.id)`,
      [projectId],
    );
  }

  private async clearDefault(manager: EntityManager, projectId: string): Promise<void> {
    const previous = await manager.findOneBy(LauncherEntity, { projectId, isDefault: true });
    if (!previous) return;
    previous.isDefault = false;
    previous.updatedAt = new Date();
    await manager.save(previous);
    await this.outbox.append(manager, launcherUpdatedV2, await this.reread(manager, previous.id));
  }

  /** A launcher as saved, with the version its save took (see RowVersionColumn). */
  private async reread(manager: EntityManager, id: string): Promise<Launcher> {
    return toLauncher(await manager.findOneByOrFail(LauncherEntity, { id }));
  }
}

function rethrowNameTaken(error: unknown, name: string, projectPath: string): never {
  if (isUniqueViolation(error, 'launchers_project_name')) {
    throw new EnvironmentsError(EnvironmentsErrorCode.LAUNCHER_NAME_TAKEN, `project ${projectPath} already has a launcher named "${name}"`);
  }
  throw error;
}

function pinColumns(pin: Pin | null) {
  return pin ? { pinRef: pin.ref, pinSha: pin.sha, pinImage: pin.image, pinPipelineId: pin.pipelineId } : NO_PIN;
}
