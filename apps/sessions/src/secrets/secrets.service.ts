import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  CommonErrorCode,
  type createSecretSlotInputSchema,
  type createUserSecretInputSchema,
  EnvironmentsErrorCode,
  environmentsRpc,
  PROJECT_ROLES,
  type Principal,
  type SecretSlot,
  SessionsError,
  SessionsErrorCode,
  type updateSecretSlotInputSchema,
  type updateUserSecretInputSchema,
  type UserSecret,
} from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import { isUniqueViolation, type SecretBox, SecretBoxError, SecretBoxErrorCode } from '@launchpad/persistence';
import { DataSource, type EntityManager } from 'typeorm';
import type { z } from 'zod';
import { SESSION_SECRETS } from '../sessions/session-env.js';
import { SecretSlotEntity, SecretSlotFillEntity, toSecretSlot, toUserSecret, UserSecretEntity } from './secret.entity.js';

type CreateSecret = z.output<typeof createUserSecretInputSchema>;
type UpdateSecret = z.output<typeof updateUserSecretInputSchema>;
type CreateSlot = z.output<typeof createSecretSlotInputSchema>;
type UpdateSlot = z.output<typeof updateSecretSlotInputSchema>;

const secretContext = (id: string) => `user-secret:${id}`;

/** A file a session gets under its secrets directory. */
export interface SecretFile {
  name: string;
  content: string;
}

/**
 * Users' own secrets and projects' secret slots. This service owns them because it is the one
 * that uses the values (a session's files): a value arrives once, in the request that sets it,
 * is sealed here with SECRETS_ENCRYPTION_KEYS and leaves only into the sessions of its owner.
 */
@Injectable()
export class SecretsService {
  private readonly logger = new Logger(SecretsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly rpc: RpcClient,
    @Inject(SESSION_SECRETS) private readonly box: SecretBox,
  ) {}

  // --- a user's own secrets ---------------------------------------------------------------

  async listUserSecrets(caller: Principal, kind?: 'general' | 'storage'): Promise<UserSecret[]> {
    const rows = await this.dataSource.getRepository(UserSecretEntity).find({ where: { userId: caller.userId, ...(kind ? { kind } : {}) }, order: { name: 'ASC' } });
    return rows.map(toUserSecret);
  }

  async getUserSecret(id: string, caller: Principal): Promise<UserSecret> {
    return toUserSecret(await this.ownSecret(this.dataSource.manager, id, caller));
  }

  async createUserSecret(input: CreateSecret, caller: Principal): Promise<UserSecret> {
    const id = randomUUID();
    const now = new Date();
    const row = this.dataSource.manager.create(UserSecretEntity, {
      id,
      userId: caller.userId,
      name: input.name,
      kind: input.kind,
      sealed: this.seal(input.value, id),
      createdAt: now,
      updatedAt: now,
    });
    await this.dataSource.manager.save(row).catch((error: unknown) => rethrowSecretNameTaken(error, input.name));
    this.logger.log({ userId: caller.userId, secretId: id }, `secret "${input.name}" (${input.kind}) stored for ${caller.userId}`);
    return toUserSecret(row);
  }

  async updateUserSecret(id: string, input: UpdateSecret, caller: Principal): Promise<UserSecret> {
    return this.dataSource.transaction(async (manager) => {
      const row = await this.ownSecret(manager, id, caller, true);
      if (input.name !== undefined) row.name = input.name;
      if (input.value !== undefined) row.sealed = this.seal(input.value, id);
      row.updatedAt = new Date();
      await manager.save(row).catch((error: unknown) => rethrowSecretNameTaken(error, row.name));
      return toUserSecret(row);
    });
  }

  /** Deleting a secret empties the slots it filled (their sessions get no file from the next start on). */
  async deleteUserSecret(id: string, caller: Principal): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await this.ownSecret(manager, id, caller, true);
      await manager.delete(UserSecretEntity, { id });
    });
  }

  /** After a key rotation: re-wraps every secret sealed with an older key. */
  async rewrapAll(): Promise<number> {
    if (!this.box.configured) return 0;
    let changed = 0;
    for (const row of await this.dataSource.getRepository(UserSecretEntity).find()) {
      if (!this.box.needsRewrap(row.sealed)) continue;
      await this.dataSource.getRepository(UserSecretEntity).update({ id: row.id }, { sealed: this.box.rewrap(row.sealed, secretContext(row.id)) });
      changed++;
    }
    return changed;
  }

  // --- a project's secret slots ---------------------------------------------------------

  async listSlots(projectId: string, caller: Principal): Promise<SecretSlot[]> {
    await this.projectAccess(projectId, caller);
    const slots = await this.dataSource.getRepository(SecretSlotEntity).find({ where: { projectId }, order: { name: 'ASC' } });
    const fills = await this.dataSource.getRepository(SecretSlotFillEntity).findBy({ userId: caller.userId });
    return slots.map((s) => toSecretSlot(s, fills.find((f) => f.slotId === s.id)?.secretId ?? null));
  }

  async createSlot(projectId: string, input: CreateSlot, caller: Principal): Promise<SecretSlot> {
    await this.requireEditor(projectId, caller);
    const now = new Date();
    const row = this.dataSource.manager.create(SecretSlotEntity, {
      id: randomUUID(),
      projectId,
      name: input.name,
      description: input.description ?? null,
      filename: input.filename,
      createdBy: caller.userId,
      createdAt: now,
      updatedAt: now,
    });
    await this.dataSource.manager.save(row).catch((error: unknown) => rethrowSlotTaken(error, input));
    return toSecretSlot(row, null);
  }

  async updateSlot(projectId: string, id: string, input: UpdateSlot, caller: Principal): Promise<SecretSlot> {
    await this.requireEditor(projectId, caller);
    const row = await this.slot(projectId, id);
    Object.assign(row, input, { updatedAt: new Date() });
    await this.dataSource.manager.save(row).catch((error: unknown) => rethrowSlotTaken(error, row));
    return toSecretSlot(row, await this.fillOf(id, caller.userId));
  }

  async deleteSlot(projectId: string, id: string, caller: Principal): Promise<void> {
    await this.requireEditor(projectId, caller);
    await this.slot(projectId, id);
    await this.dataSource.manager.delete(SecretSlotEntity, { id });
  }

  /** Fills the slot, for the caller's own sessions only, with one of the caller's own secrets. */
  async fillSlot(projectId: string, id: string, secretId: string, caller: Principal): Promise<SecretSlot> {
    await this.projectAccess(projectId, caller);
    const slot = await this.slot(projectId, id);
    await this.ownSecret(this.dataSource.manager, secretId, caller);
    await this.dataSource.manager.upsert(SecretSlotFillEntity, { slotId: id, userId: caller.userId, secretId }, ['slotId', 'userId']);
    return toSecretSlot(slot, secretId);
  }

  async clearSlot(projectId: string, id: string, caller: Principal): Promise<SecretSlot> {
    await this.projectAccess(projectId, caller);
    const slot = await this.slot(projectId, id);
    await this.dataSource.manager.delete(SecretSlotFillEntity, { slotId: id, userId: caller.userId });
    return toSecretSlot(slot, null);
  }

  /** The files of the project's slots this user filled, with their values, for their session to start with. */
  async filesFor(manager: EntityManager, projectId: string, userId: string): Promise<SecretFile[]> {
    const rows: { filename: string; id: string; sealed: string }[] = await manager.query(
      `SELECT s.filename, u.id, u.sealed FROM secret_slots s
         JOIN secret_slot_fills f ON f.slot_id = s.id AND f.user_id = $2
         JOIN user_secrets u ON u.id = f.secret_id AND u.user_id = $2
        WHERE s.project_id = $1 ORDER BY s.filename`,
      [projectId, userId],
    );
    return rows.map((r) => ({ name: r.filename, content: this.box.open(r.sealed, secretContext(r.id)) }));
  }

  // --- plumbing ----------------------------------------------------------------------------

  private seal(value: string, id: string): string {
    try {
      return this.box.seal(value, secretContext(id));
    } catch (error) {
      if (error instanceof SecretBoxError && error.code === SecretBoxErrorCode.NOT_CONFIGURED) {
        throw new SessionsError(CommonErrorCode.SECRETS_NOT_CONFIGURED, 'secrets cannot be stored: the sessions service has no SECRETS_ENCRYPTION_KEYS; ask an administrator');
      }
      throw error;
    }
  }

  private async ownSecret(manager: EntityManager, id: string, caller: Principal, lock = false): Promise<UserSecretEntity> {
    const row = await manager.findOne(UserSecretEntity, { where: { id, userId: caller.userId }, ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
    // Someone else's secret does not exist for the caller.
    if (!row) throw new SessionsError(SessionsErrorCode.SECRET_NOT_FOUND, `secret ${id} was not found among your secrets`, [{ path: 'secretId', message: 'not one of your secrets' }]);
    return row;
  }

  private async slot(projectId: string, id: string): Promise<SecretSlotEntity> {
    const row = await this.dataSource.manager.findOneBy(SecretSlotEntity, { id, projectId });
    if (!row) throw new SessionsError(SessionsErrorCode.SECRET_SLOT_NOT_FOUND, `project ${projectId} has no secret slot ${id}`);
    return row;
  }

  private async fillOf(slotId: string, userId: string): Promise<string | null> {
    return (await this.dataSource.manager.findOneBy(SecretSlotFillEntity, { slotId, userId }))?.secretId ?? null;
  }

  /**
   * The values of `userId`'s own storage secrets among `ids`; one that is not theirs, or not of
   * kind storage, is refused naming it.
   */
  async openStorageSecrets(manager: EntityManager, userId: string, ids: string[]): Promise<Map<string, string>> {
    const values = new Map<string, string>();
    for (const id of new Set(ids)) {
      const row = await manager.findOneBy(UserSecretEntity, { id, userId });
      if (!row || row.kind !== 'storage') {
        throw new SessionsError(SessionsErrorCode.SECRET_NOT_FOUND, `secret ${id} is not one of your storage secrets`, [{ path: 'secrets', message: 'give the id of one of your secrets of kind "storage"' }]);
      }
      values.set(id, this.box.open(row.sealed, secretContext(id)));
    }
    return values;
  }

  /** Asks environments, as the caller: a project the caller may not read is not found. */
  projectAccess(projectId: string, caller: Principal) {
    return this.rpc.call(environmentsRpc.getProject, { caller, projectId });
  }

  async requireEditor(projectId: string, caller: Principal, what = 'the secret slots'): Promise<void> {
    const project = await this.projectAccess(projectId, caller);
    const role = project.role as (typeof PROJECT_ROLES)[number] | null;
    const editor = caller.admin || (role !== null && PROJECT_ROLES.indexOf(role) >= PROJECT_ROLES.indexOf('developer'));
    if (!editor) {
      throw new SessionsError(
        // The code launcher edits refuse with, so that clients handle one.
        EnvironmentsErrorCode.INSUFFICIENT_PROJECT_ROLE,
        `to change ${what} of ${project.path} you need the developer role or above; you are ${role ?? 'not a member'}`,
      );
    }
  }
}

function rethrowSecretNameTaken(error: unknown, name: string): never {
  if (isUniqueViolation(error, 'user_secrets_user_name')) throw new SessionsError(SessionsErrorCode.SECRET_NAME_TAKEN, `you already have a secret named "${name}"`);
  throw error;
}

function rethrowSlotTaken(error: unknown, input: { name: string; filename: string }): never {
  if (isUniqueViolation(error, 'secret_slots_project_name')) throw new SessionsError(SessionsErrorCode.SECRET_SLOT_TAKEN, `the project already has a secret slot named "${input.name}"`);
  if (isUniqueViolation(error, 'secret_slots_project_filename')) {
    throw new SessionsError(SessionsErrorCode.SECRET_SLOT_TAKEN, `another secret slot of the project already has the file "${input.filename}"`);
  }
  throw error;
}
