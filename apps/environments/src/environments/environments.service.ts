import { Injectable, Logger } from '@nestjs/common';
import {
  environmentCreatedV1,
  environmentDeletedV1,
  EnvironmentsError,
  EnvironmentsErrorCode,
  environmentUpdatedV1,
  type createEnvironmentInputSchema,
  type Environment,
  type Principal,
  type updateEnvironmentInputSchema,
} from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import { advisoryLock, isUniqueViolation, readRows } from '@launchpad/persistence';
import { DataSource, type EntityManager } from 'typeorm';
import type { z } from 'zod';
import { seedDefaultLock } from '../locks.js';
import { requireAdmin } from '../projects/projects.service.js';
import { defaultJupyterEnvironment } from './default-environment.js';
import { EnvironmentEntity, toEnvironment } from './environment.entity.js';
import { environmentFromRow, type EnvironmentRow, listEnvironmentsQuery } from './environment-rows.js';

type CreateInput = z.output<typeof createEnvironmentInputSchema>;
type UpdateInput = z.output<typeof updateEnvironmentInputSchema>;

@Injectable()
export class EnvironmentsService {
  private readonly logger = new Logger(EnvironmentsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
  ) {}

  async list(query: { q?: string | undefined; keyword?: string | undefined; includeArchived?: 'true' | 'false' | undefined }): Promise<Environment[]> {
    // Raw rows, not the query builder and entities: the catalogue's hottest read (see environment-rows.ts).
    const { sql, params } = listEnvironmentsQuery(query);
    const rows = await readRows<EnvironmentRow>(this.dataSource, sql, params);
    return rows.map(environmentFromRow);
  }

  async get(id: string): Promise<Environment> {
    return toEnvironment(await this.findGlobal(this.dataSource.manager, id));
  }

  async create(input: CreateInput, caller: Principal): Promise<Environment> {
    requireAdmin(caller, 'create global environments');
    if (input.isDefault && input.isArchived) this.refuseArchivedDefault(input.name);
    const created = await this.outbox.transaction(async (manager) => {
      if (input.isDefault) await this.clearDefault(manager);
      const entity = manager.create(EnvironmentEntity, {
        ...input,
        kind: 'global',
        projectId: null,
        description: input.description ?? null,
        isDefault: input.isDefault ?? false,
        createdBy: caller.userId,
      });
      const saved = await manager.save(entity).catch((error: unknown) => this.rethrowNameTaken(error, input.name));
      const environment = toEnvironment(await manager.findOneByOrFail(EnvironmentEntity, { id: saved.id }));
      await this.outbox.append(manager, environmentCreatedV1, environment);
      return environment;
    });
    this.logger.log(`environment ${created.name} (${created.id}) created by ${caller.userId}`);
    return created;
  }

  async update(id: string, input: UpdateInput, caller: Principal): Promise<Environment> {
    requireAdmin(caller, 'change global environments');
    return this.outbox.transaction(async (manager) => {
      const entity = await this.findGlobal(manager, id, true);
      if ((input.isArchived ?? entity.isArchived) && (input.isDefault ?? entity.isDefault)) this.refuseArchivedDefault(entity.name);
      if (input.isDefault && !entity.isDefault) await this.clearDefault(manager);
      Object.assign(entity, input, { updatedAt: new Date() });
      await manager.save(entity).catch((error: unknown) => this.rethrowNameTaken(error, input.name ?? entity.name));
      const environment = toEnvironment(await manager.findOneByOrFail(EnvironmentEntity, { id }));
      await this.outbox.append(manager, environmentUpdatedV1, environment);
      return environment;
    });
  }

  async delete(id: string, caller: Principal): Promise<void> {
    requireAdmin(caller, 'delete global environments');
    await this.outbox.transaction(async (manager) => {
      const entity = await this.findGlobal(manager, id, true);
      if (entity.isDefault) {
        throw new EnvironmentsError(
          EnvironmentsErrorCode.DEFAULT_ENVIRONMENT_REQUIRED,
          `environment "${entity.name}" is the platform's default; mark another environment as default before deleting it`,
        );
      }
      const users: { name: string; path: string }[] = await manager.query(
        `SELECT l.name, p.path FROM launchers l JOIN projects p ON p.id = l.project_id WHERE l.environment_id = $1 ORDER BY p.path, l.name`,
        [id],
      );
      if (users.length > 0) {
        const named = users.slice(0, 10).map((u) => `"${u.name}" in ${u.path}`);
        const more = users.length > 10 ? ` and ${users.length - 10} more` : '';
        throw new EnvironmentsError(
          EnvironmentsErrorCode.ENVIRONMENT_IN_USE,
          `environment "${entity.name}" is used by ${users.length} launcher(s): ${named.join(', ')}${more}; move them to another environment first`,
          users.map((u) => ({ path: `launchers`, message: `${u.path}: ${u.name}` })),
        );
      }
      await manager.delete(EnvironmentEntity, { id });
      await this.outbox.append(manager, environmentDeletedV1, { id, deletedBy: caller.userId });
    });
    this.logger.log(`environment ${id} deleted by ${caller.userId}`);
  }

  /** Seeds the default Jupyter environment once, however many replicas start at the same time. */
  async seedDefault(image: string): Promise<void> {
    const seeded = await this.outbox.transaction(async (manager) => {
      await advisoryLock(manager, seedDefaultLock);
      const existing = await manager.findOneBy(EnvironmentEntity, { kind: 'global', isDefault: true });
      if (existing) return null;
      const input = defaultJupyterEnvironment(image);
      const taken = await manager
        .getRepository(EnvironmentEntity)
        .createQueryBuilder('e')
        .where(`e.kind = 'global' AND lower(e.name) = lower(:name)`, { name: input.name })
        .getOne();
      if (taken) {
        // An admin already made one with this name; make it the default instead of failing.
        taken.isDefault = true;
        await manager.save(taken);
        // Read again for the version the save took (see RowVersionColumn).
        const environment = toEnvironment(await manager.findOneByOrFail(EnvironmentEntity, { id: taken.id }));
        await this.outbox.append(manager, environmentUpdatedV1, environment);
        return environment;
      }
      const saved = await manager.save(
        manager.create(EnvironmentEntity, { ...input, kind: 'global', projectId: null, description: input.description ?? null, isDefault: true, createdBy: 'system' }),
      );
      const environment = toEnvironment(await manager.findOneByOrFail(EnvironmentEntity, { id: saved.id }));
      await this.outbox.append(manager, environmentCreatedV1, environment);
      return environment;
    });
    if (seeded) this.logger.log(`seeded the default environment ${seeded.name} (${seeded.image})`);
  }

  private async findGlobal(manager: EntityManager, id: string, lock = false): Promise<EnvironmentEntity> {
    const entity = await manager.findOne(EnvironmentEntity, {
      where: { id, kind: 'global' },
      ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!entity) throw new EnvironmentsError(EnvironmentsErrorCode.ENVIRONMENT_NOT_FOUND, `environment ${id} was not found`);
    return entity;
  }

  private async clearDefault(manager: EntityManager): Promise<void> {
    const previous = await manager.findOne(EnvironmentEntity, { where: { isDefault: true }, lock: { mode: 'pessimistic_write' } });
    if (!previous) return;
    previous.isDefault = false;
    previous.updatedAt = new Date();
    await manager.save(previous);
    await this.outbox.append(manager, environmentUpdatedV1, toEnvironment(await manager.findOneByOrFail(EnvironmentEntity, { id: previous.id })));
  }

  private refuseArchivedDefault(name: string): never {
    throw new EnvironmentsError(
      EnvironmentsErrorCode.DEFAULT_ENVIRONMENT_REQUIRED,
      `environment "${name}" is (or would be) the platform's default, which new launchers use: mark another environment as default before archiving it`,
    );
  }

  private rethrowNameTaken(error: unknown, name: string): never {
    if (isUniqueViolation(error, 'environments_global_name')) {
      throw new EnvironmentsError(EnvironmentsErrorCode.ENVIRONMENT_NAME_TAKEN, `a global environment named "${name}" already exists`);
    }
    throw error;
  }
}
