import { Injectable } from '@nestjs/common';
import {
  EnvironmentsError,
  EnvironmentsErrorCode,
  launcherCreatedV1,
  launcherDeletedV1,
  launcherUpdatedV1,
  type createLauncherInputSchema,
  type Launcher,
  type launcherEnvironmentInputSchema,
  type Principal,
  type updateLauncherInputSchema,
} from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import { isUniqueViolation } from '@launchpad/persistence';
import { DataSource, type EntityManager } from 'typeorm';
import type { z } from 'zod';
import { EnvironmentEntity } from '../environments/environment.entity.js';
import { canEditLaunchers } from '../projects/project-access.js';
import { type ProjectAccess, ProjectsService } from '../projects/projects.service.js';
import { LauncherEntity, toLauncher } from './launcher.entity.js';

type CreateInput = z.output<typeof createLauncherInputSchema>;
type UpdateInput = z.output<typeof updateLauncherInputSchema>;
type EnvironmentChoice = z.output<typeof launcherEnvironmentInputSchema>;

@Injectable()
export class LaunchersService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly projects: ProjectsService,
    private readonly outbox: OutboxWriter,
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

  async create(projectId: string, input: CreateInput, caller: Principal): Promise<Launcher> {
    return this.outbox.transaction(async (manager) => {
      const access = await this.projects.access(projectId, caller, manager);
      this.requireEditor(access, caller, 'create launchers');
      // Serialise launcher writes per project so the default mark cannot be lost in a race.
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`launchpad:launchers:${projectId}`]);
      const environment = await this.resolveEnvironment(manager, projectId, input.name, input.environment, null, caller);
      const hasDefault = await manager.existsBy(LauncherEntity, { projectId, isDefault: true });
      const makeDefault = input.isDefault === true || !hasDefault;
      if (makeDefault && hasDefault) await this.clearDefault(manager, projectId);
      const saved = await manager
        .save(
          manager.create(LauncherEntity, {
            projectId,
            name: input.name,
            description: input.description ?? null,
            kind: input.kind,
            environmentId: environment.id,
            resourceClassId: input.resourceClassId ?? null,
            isDefault: makeDefault,
            createdBy: caller.userId,
          }),
        )
        .catch((error: unknown) => rethrowNameTaken(error, input.name, access.project.path));
      const launcher = toLauncher(await manager.findOneByOrFail(LauncherEntity, { id: saved.id }));
      await this.outbox.append(manager, launcherCreatedV1, launcher);
      return launcher;
    });
  }

  async update(id: string, input: UpdateInput, caller: Principal): Promise<Launcher> {
    return this.outbox.transaction(async (manager) => {
      const { entity, access } = await this.findReadable(manager, id, caller);
      this.requireEditor(access, caller, 'edit launchers');
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`launchpad:launchers:${entity.projectId}`]);
      if (input.environment) {
        const previous = entity.environment;
        const next = await this.resolveEnvironment(manager, entity.projectId, input.name ?? entity.name, input.environment, previous, caller);
        entity.environmentId = next.id;
        entity.environment = next;
      }
      if (input.isDefault && !entity.isDefault) {
        await this.clearDefault(manager, entity.projectId);
        entity.isDefault = true;
      }
      if (input.name !== undefined) entity.name = input.name;
      if (input.description !== undefined) entity.description = input.description;
      if (input.resourceClassId !== undefined) entity.resourceClassId = input.resourceClassId;
      entity.updatedAt = new Date();
      await manager.save(entity).catch((error: unknown) => rethrowNameTaken(error, entity.name, access.project.path));
      await this.deleteOrphanedCustomEnvironments(manager, entity.projectId);
      const launcher = toLauncher(await manager.findOneByOrFail(LauncherEntity, { id }));
      await this.outbox.append(manager, launcherUpdatedV1, launcher);
      return launcher;
    });
  }

  async delete(id: string, caller: Principal): Promise<void> {
    await this.outbox.transaction(async (manager) => {
      const { entity, access } = await this.findReadable(manager, id, caller);
      this.requireEditor(access, caller, 'delete launchers');
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`launchpad:launchers:${entity.projectId}`]);
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
          await this.outbox.append(manager, launcherUpdatedV1, toLauncher(heir));
        }
      }
    });
  }

  private async findReadable(manager: EntityManager, id: string, caller: Principal): Promise<{ entity: LauncherEntity; access: ProjectAccess }> {
    const entity = await manager.findOneBy(LauncherEntity, { id });
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

  /** A global environment by id, or the launcher's own custom one, updated in place when it had one. */
  private async resolveEnvironment(
    manager: EntityManager,
    projectId: string,
    launcherName: string,
    choice: EnvironmentChoice,
    previous: EnvironmentEntity | null,
    caller: Principal,
  ): Promise<EnvironmentEntity> {
    if (choice.kind === 'global') {
      const global = await manager.findOneBy(EnvironmentEntity, { id: choice.id, kind: 'global' });
      if (!global) {
        throw new EnvironmentsError(EnvironmentsErrorCode.ENVIRONMENT_NOT_FOUND, `global environment ${choice.id} was not found`, [
          { path: 'environment.id', message: 'no global environment has this id' },
        ]);
      }
      return global;
    }
    const { kind: _kind, name, ...settings } = choice;
    const fields = { ...settings, name: name ?? `${launcherName} environment`, updatedAt: new Date() };
    if (previous?.kind === 'custom') {
      Object.assign(previous, fields);
      return manager.save(previous);
    }
    return manager.save(
      manager.create(EnvironmentEntity, {
        ...fields,
        kind: 'custom',
        projectId,
        description: null,
        keywords: [],
        isDefault: false,
        createdBy: caller.userId,
      }),
    );
  }

  private async deleteOrphanedCustomEnvironments(manager: EntityManager, projectId: string): Promise<void> {
    await manager.query(
      `DELETE FROM environments e WHERE e.kind = 'custom' AND e.project_id = $1
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
    await this.outbox.append(manager, launcherUpdatedV1, toLauncher(previous));
  }
}

function rethrowNameTaken(error: unknown, name: string, projectPath: string): never {
  if (isUniqueViolation(error, 'launchers_project_name')) {
    throw new EnvironmentsError(EnvironmentsErrorCode.LAUNCHER_NAME_TAKEN, `project ${projectPath} already has a launcher named "${name}"`);
  }
  throw error;
}
