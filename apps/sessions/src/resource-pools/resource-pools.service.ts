import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  CommonErrorCode,
  EnvironmentsErrorCode,
  type createResourcePoolInputSchema,
  type Principal,
  type ResourceClass,
  type ResourcePool,
  classLimitProblems,
  type resourceClassInputSchema,
  SessionsError,
  SessionsErrorCode,
  type updateResourceClassInputSchema,
  type updateResourcePoolInputSchema,
} from '@launchpad/contracts';
import { advisoryLock, isUniqueViolation } from '@launchpad/persistence';
import { DataSource, type EntityManager } from 'typeorm';
import type { z } from 'zod';
import { poolLock, seedPoolsLock } from '../locks.js';
import { fits, type HeldSession, NO_RESOURCES, quotaShortfall, type Resources, sessionLimitProblem, sessionsPerUserLimit } from './quota.js';
import { POOL_LIMITS, type PoolLimits } from './tokens.js';
import { maxStorageOf, ResourceClassEntity, ResourcePoolEntity, ResourcePoolUserEntity, toResourceClass } from './resource-pool.entity.js';

type CreatePoolInput = z.output<typeof createResourcePoolInputSchema>;
type UpdatePoolInput = z.output<typeof updateResourcePoolInputSchema>;
type ClassInput = z.output<typeof resourceClassInputSchema>;
type UpdateClassInput = z.output<typeof updateResourceClassInputSchema>;

/** Sessions that hold their class's resources: everything not hibernated, failed or gone. */
const HOLDING_RESOURCES = `status IN ('starting', 'running', 'stopping')`;
/** What the sessions holding a pool's resources use of it, as Resources (a SELECT list over `sessions`). */
const USED_RESOURCES = `coalesce(sum(cpu), 0)::float8 AS cpu, coalesce(sum(memory_gb), 0)::float8 AS "memoryGb", coalesce(sum(gpu), 0)::int AS gpu`;

export interface ResolvedClass {
  pool: ResourcePoolEntity;
  cls: ResourceClassEntity;
}

function requireAdmin(caller: Principal, action: string): void {
  if (!caller.admin) throw new SessionsError(EnvironmentsErrorCode.ADMIN_REQUIRED, `only administrators can ${action}`);
}

@Injectable()
export class ResourcePoolsService {
  private readonly logger = new Logger(ResourcePoolsService.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(POOL_LIMITS) private readonly limits: PoolLimits,
  ) {}

  /** A fresh platform gets one public pool whose default class every launch can use. */
  async seedDefault(quota: { cpu: number; memoryGb: number }): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await advisoryLock(manager, seedPoolsLock);
      if ((await manager.count(ResourcePoolEntity)) > 0) return;
      const pool = await manager.save(
        manager.create(ResourcePoolEntity, { name: 'Public', public: true, isDefault: true, quotaCpu: quota.cpu, quotaMemoryGb: quota.memoryGb, quotaGpu: 0 }),
      );
      await manager.save(
        manager.create(ResourceClassEntity, { id: 'small', poolId: pool.id, name: 'Small', cpu: 1, memoryGb: 2, gpu: 0, diskGb: 10, isDefault: true }),
      );
      this.logger.log(`seeded the public resource pool with class "small" (quota ${quota.cpu} CPU, ${quota.memoryGb} GB)`);
    });
  }

  async list(caller: Principal): Promise<ResourcePool[]> {
    const pools = await this.dataSource.getRepository(ResourcePoolEntity).find({ order: { createdAt: 'ASC' } });
    const visible = [];
    for (const pool of pools) if (await this.mayUse(this.dataSource.manager, pool, caller)) visible.push(pool);
    return Promise.all(visible.map((p) => this.view(this.dataSource.manager, p, caller)));
  }

  async get(id: string, caller: Principal): Promise<ResourcePool> {
    const pool = await this.findPool(this.dataSource.manager, id);
    if (!(await this.mayUse(this.dataSource.manager, pool, caller))) throw poolNotFound(id);
    return this.view(this.dataSource.manager, pool, caller);
  }

  async create(input: CreatePoolInput, caller: Principal): Promise<ResourcePool> {
    requireAdmin(caller, 'create resource pools');
    return this.dataSource.transaction(async (manager) => {
      if (input.isDefault) await manager.update(ResourcePoolEntity, { isDefault: true }, { isDefault: false });
      const pool = await manager
        .save(
          manager.create(ResourcePoolEntity, {
            name: input.name,
            public: input.public,
            isDefault: input.isDefault,
            quotaCpu: input.quota.cpu,
            quotaMemoryGb: input.quota.memoryGb,
            quotaGpu: input.quota.gpu,
            idleThresholdS: input.idleThresholdS ?? null,
            hibernationThresholdS: input.hibernationThresholdS ?? null,
            maxSessionsPerUser: input.maxSessionsPerUser ?? null,
          }),
        )
        .catch((error: unknown) => rethrowPoolNameTaken(error, input.name));
      const defaults = input.classes.filter((c) => c.isDefault).length;
      if (defaults > 1) throw new SessionsError(SessionsErrorCode.RESOURCE_CLASS_ID_TAKEN, 'a pool has at most one default class; mark only one isDefault');
      for (const cls of input.classes) await this.insertClass(manager, pool.id, cls);
      return this.view(manager, await this.findPool(manager, pool.id), caller);
    });
  }

  async update(id: string, input: UpdatePoolInput, caller: Principal): Promise<ResourcePool> {
    requireAdmin(caller, 'change resource pools');
    return this.dataSource.transaction(async (manager) => {
      const pool = await this.findPool(manager, id);
      if (input.isDefault && !pool.isDefault) {
        await manager.update(ResourcePoolEntity, { isDefault: true }, { isDefault: false });
        pool.isDefault = true;
      }
      if (input.name !== undefined) pool.name = input.name;
      if (input.public !== undefined) pool.public = input.public;
      if (input.idleThresholdS !== undefined) pool.idleThresholdS = input.idleThresholdS;
      if (input.hibernationThresholdS !== undefined) pool.hibernationThresholdS = input.hibernationThresholdS;
      if (input.maxSessionsPerUser !== undefined) pool.maxSessionsPerUser = input.maxSessionsPerUser;
      if (input.quota) {
        pool.quotaCpu = input.quota.cpu;
        pool.quotaMemoryGb = input.quota.memoryGb;
        pool.quotaGpu = input.quota.gpu;
      }
      pool.updatedAt = new Date();
      const { classes: _classes, ...columns } = pool;
      await manager.update(ResourcePoolEntity, { id }, columns).catch((error: unknown) => rethrowPoolNameTaken(error, pool.name));
      return this.view(manager, await this.findPool(manager, id), caller);
    });
  }

  async delete(id: string, caller: Principal): Promise<void> {
    requireAdmin(caller, 'delete resource pools');
    await this.dataSource.transaction(async (manager) => {
      const pool = await this.findPool(manager, id);
      if (pool.isDefault) {
        throw new SessionsError(SessionsErrorCode.DEFAULT_POOL_REQUIRED, `"${pool.name}" is the default pool: make another pool the default first`);
      }
      const [{ count }] = await manager.query(`SELECT count(*)::int AS count FROM sessions WHERE resource_pool_id = $1`, [id]);
      if (count > 0) {
        throw new SessionsError(SessionsErrorCode.RESOURCE_POOL_IN_USE, `resource pool "${pool.name}" has ${count} session(s); delete them first`);
      }
      await manager.delete(ResourcePoolEntity, { id });
    });
  }

  async addClass(poolId: string, input: ClassInput, caller: Principal): Promise<ResourceClass> {
    requireAdmin(caller, 'add resource classes');
    return this.dataSource.transaction(async (manager) => {
      await this.findPool(manager, poolId);
      if (input.isDefault) await manager.update(ResourceClassEntity, { poolId, isDefault: true }, { isDefault: false });
      return toResourceClass(await this.insertClass(manager, poolId, input));
    });
  }

  async updateClass(classId: string, input: UpdateClassInput, caller: Principal): Promise<ResourceClass> {
    requireAdmin(caller, 'change resource classes');
    return this.dataSource.transaction(async (manager) => {
      const cls = await this.findClass(manager, classId);
      if (input.isDefault && !cls.isDefault) await manager.update(ResourceClassEntity, { poolId: cls.poolId, isDefault: true }, { isDefault: false });
      const { pool: _pool, ...columns } = { ...cls, ...input };
      if (columns.maxStorageGb !== null && columns.maxStorageGb < columns.diskGb) {
        throw new SessionsError(CommonErrorCode.VALIDATION_FAILED, `maxStorageGb (${columns.maxStorageGb}) must be at least diskGb (${columns.diskGb})`, [
          { path: 'maxStorageGb', message: 'must be at least diskGb' },
        ]);
      }
      // The update may change a request or a limit alone: the class as it will be must still hold.
      const limitProblems = classLimitProblems(columns);
      if (limitProblems.length > 0) {
        throw new SessionsError(CommonErrorCode.VALIDATION_FAILED, `resource class "${cls.name}": ${limitProblems.map((p) => `${p.path} ${p.message}`).join('; ')}`, limitProblems);
      }
      await manager.update(ResourceClassEntity, { id: classId }, columns);
      return toResourceClass(await this.findClass(manager, classId));
    });
  }

  async deleteClass(classId: string, caller: Principal): Promise<void> {
    requireAdmin(caller, 'delete resource classes');
    await this.dataSource.transaction(async (manager) => {
      const cls = await this.findClass(manager, classId);
      const [{ count }] = await manager.query(`SELECT count(*)::int AS count FROM sessions WHERE resource_class_id = $1`, [classId]);
      if (count > 0) {
        throw new SessionsError(SessionsErrorCode.RESOURCE_CLASS_IN_USE, `resource class "${cls.name}" is used by ${count} session(s); delete them first`);
      }
      await manager.delete(ResourceClassEntity, { id: classId });
    });
  }

  async addUser(poolId: string, userId: string, caller: Principal): Promise<void> {
    requireAdmin(caller, 'grant access to resource pools');
    await this.findPool(this.dataSource.manager, poolId);
    await this.dataSource.manager.query(`INSERT INTO resource_pool_users (pool_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [poolId, userId]);
  }

  async removeUser(poolId: string, userId: string, caller: Principal): Promise<void> {
    requireAdmin(caller, 'revoke access to resource pools');
    await this.findPool(this.dataSource.manager, poolId);
    await this.dataSource.manager.delete(ResourcePoolUserEntity, { poolId, userId });
  }

  /**
   * The class a launch runs with (the request's, else the launcher's, else the default pool's
   * default), once the caller is known to be allowed to use its pool.
   */
  async resolveClass(manager: EntityManager, classId: string | null, caller: Principal): Promise<ResolvedClass> {
    let cls: ResourceClassEntity | null;
    if (classId) {
      cls = await manager.findOne(ResourceClassEntity, { where: { id: classId }, relations: { pool: true } });
      if (!cls) {
        throw new SessionsError(SessionsErrorCode.RESOURCE_CLASS_NOT_FOUND, `resource class "${classId}" does not exist`, [
          { path: 'resourceClassId', message: 'no resource class has this id; GET /api/v1/resource-pools lists the classes you may use' },
        ]);
      }
    } else {
      cls = await manager
        .createQueryBuilder(ResourceClassEntity, 'c')
        .innerJoinAndSelect('c.pool', 'p')
        .where('p.is_default AND c.is_default')
        .getOne();
      if (!cls) throw new SessionsError(SessionsErrorCode.RESOURCE_CLASS_NOT_FOUND, 'the default resource pool has no default class; an administrator must mark one');
    }
    if (!(await this.mayUse(manager, cls.pool, caller))) {
      throw new SessionsError(SessionsErrorCode.RESOURCE_POOL_NOT_ALLOWED, `you may not use resource pool "${cls.pool.name}"; ask an administrator for access or choose another class`);
    }
    return { pool: cls.pool, cls };
  }

  /**
   * The disk a session of `cls` gets: what it asks for (`diskStorageGb` of the launch or its
   * launcher), else the class's default; refused above the class's maxStorageGb.
   */
  diskFor(cls: ResourceClassEntity, requestedGb: number | null | undefined, source = 'diskStorageGb'): number {
    if (requestedGb === null || requestedGb === undefined) return cls.diskGb;
    const max = maxStorageOf(cls);
    if (requestedGb > max) {
      throw new SessionsError(
        SessionsErrorCode.DISK_STORAGE_NOT_ALLOWED,
        `${source} ${requestedGb} GB is more than resource class "${cls.name}" allows (at most ${max} GB); ask for less, or choose a class with more`,
        [{ path: 'diskStorageGb', message: `at most ${max} GB in class "${cls.name}"` }],
      );
    }
    return requestedGb;
  }

  /**
   * Refuses a launch (or resume) that would take the pool over its quota, or its user over the
   * sessions one user may hold in the pool. Launches into one pool are serialised by a
   * transaction lock, so two cannot both take the last slot, nor one user's two launches the last
   * of theirs. The lock comes last in the service's lock order (locks.ts): take nothing after it.
   */
  async reserve(manager: EntityManager, { pool, cls }: ResolvedClass, userId: string, excludeSessionId?: string): Promise<void> {
    await advisoryLock(manager, poolLock(pool.id));
    const limit = sessionsPerUserLimit(pool.maxSessionsPerUser, this.limits.sessionsPerUserPerPool);
    // The user's sessions in the pool and the pool's use, in one statement (both under the pool's lock).
    const [{ held, ...used }]: (Resources & { held: number })[] = await manager.query(
      `SELECT count(*) FILTER (WHERE user_id = $2)::int AS held, ${USED_RESOURCES}
         FROM sessions WHERE resource_pool_id = $1 AND ${HOLDING_RESOURCES} AND id IS DISTINCT FROM $3`,
      [pool.id, userId, excludeSessionId ?? null],
    );
    const overLimit = sessionLimitProblem(pool.name, limit, held);
    if (overLimit) throw new SessionsError(SessionsErrorCode.SESSION_LIMIT_REACHED, overLimit);
    const quota = { cpu: pool.quotaCpu, memoryGb: pool.quotaMemoryGb, gpu: pool.quotaGpu };
    const request = { cpu: cls.cpu, memoryGb: cls.memoryGb, gpu: cls.gpu };
    if (!fits(request, quota, used)) {
      const own: HeldSession[] = await manager.query(
        `SELECT name, status, cpu::float8 AS cpu, memory_gb::float8 AS "memoryGb", gpu FROM sessions
          WHERE resource_pool_id = $1 AND user_id = $2 AND ${HOLDING_RESOURCES} AND id IS DISTINCT FROM $3 ORDER BY created_at`,
        [pool.id, userId, excludeSessionId ?? null],
      );
      throw new SessionsError(SessionsErrorCode.QUOTA_EXCEEDED, quotaShortfall(pool.name, cls.name, request, quota, used, own));
    }
  }

  private async usage(manager: EntityManager, poolId: string, excludeSessionId?: string): Promise<Resources> {
    const [row] = await manager.query(
      `SELECT ${USED_RESOURCES}
         FROM sessions WHERE resource_pool_id = $1 AND ${HOLDING_RESOURCES} AND id IS DISTINCT FROM $2`,
      [poolId, excludeSessionId ?? null],
    );
    return (row as Resources | undefined) ?? NO_RESOURCES;
  }

  private async mayUse(manager: EntityManager, pool: ResourcePoolEntity, caller: Principal): Promise<boolean> {
    if (pool.public || caller.admin) return true;
    return manager.existsBy(ResourcePoolUserEntity, { poolId: pool.id, userId: caller.userId });
  }

  private async view(manager: EntityManager, pool: ResourcePoolEntity, caller: Principal): Promise<ResourcePool> {
    const users = caller.admin ? (await manager.findBy(ResourcePoolUserEntity, { poolId: pool.id })).map((u) => u.userId).sort() : undefined;
    return {
      id: pool.id,
      name: pool.name,
      public: pool.public,
      isDefault: pool.isDefault,
      quota: { cpu: pool.quotaCpu, memoryGb: pool.quotaMemoryGb, gpu: pool.quotaGpu },
      idleThresholdS: pool.idleThresholdS ?? null,
      hibernationThresholdS: pool.hibernationThresholdS ?? null,
      maxSessionsPerUser: pool.maxSessionsPerUser ?? null,
      sessionsPerUserLimit: sessionsPerUserLimit(pool.maxSessionsPerUser, this.limits.sessionsPerUserPerPool),
      used: await this.usage(manager, pool.id),
      classes: [...pool.classes].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id)).map(toResourceClass),
      ...(users ? { users } : {}),
      createdAt: pool.createdAt.toISOString(),
      updatedAt: pool.updatedAt.toISOString(),
    };
  }

  private async insertClass(manager: EntityManager, poolId: string, input: ClassInput): Promise<ResourceClassEntity> {
    const id = input.id ?? slugify(input.name);
    if (await manager.existsBy(ResourceClassEntity, { id })) {
      throw new SessionsError(SessionsErrorCode.RESOURCE_CLASS_ID_TAKEN, `a resource class with id "${id}" already exists; give this one another "id"`);
    }
    return manager.save(
      manager.create(ResourceClassEntity, {
        id,
        poolId,
        name: input.name,
        cpu: input.cpu,
        memoryGb: input.memoryGb,
        gpu: input.gpu,
        diskGb: input.diskGb,
        maxStorageGb: input.maxStorageGb ?? null,
        isDefault: input.isDefault,
        gpuResourceName: input.gpuResourceName,
        nodeSelector: input.nodeSelector,
        tolerations: input.tolerations,
        cpuLimit: input.cpuLimit,
        memoryLimitGb: input.memoryLimitGb,
        storageClassName: input.storageClassName,
      }),
    );
  }

  private async findPool(manager: EntityManager, id: string): Promise<ResourcePoolEntity> {
    const pool = await manager.findOneBy(ResourcePoolEntity, { id });
    if (!pool) throw poolNotFound(id);
    return pool;
  }

  private async findClass(manager: EntityManager, id: string): Promise<ResourceClassEntity> {
    const cls = await manager.findOneBy(ResourceClassEntity, { id });
    if (!cls) throw new SessionsError(SessionsErrorCode.RESOURCE_CLASS_NOT_FOUND, `resource class "${id}" does not exist`);
    return cls;
  }
}

function poolNotFound(id: string): SessionsError {
  return new SessionsError(SessionsErrorCode.RESOURCE_POOL_NOT_FOUND, `resource pool ${id} was not found, or you may not use it`);
}

function rethrowPoolNameTaken(error: unknown, name: string): never {
  if (isUniqueViolation(error, 'resource_pools_name')) {
    throw new SessionsError(SessionsErrorCode.RESOURCE_POOL_NAME_TAKEN, `a resource pool named "${name}" already exists`);
  }
  throw error;
}

function slugify(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100) || 'class';
}
