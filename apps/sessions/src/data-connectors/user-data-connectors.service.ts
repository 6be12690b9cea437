import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  type createUserDataConnectorInputSchema,
  type Principal,
  SessionsError,
  SessionsErrorCode,
  type updateUserDataConnectorInputSchema,
  type UserDataConnector,
} from '@launchpad/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import type { z } from 'zod';
import { SecretsService } from '../secrets/secrets.service.js';
import { DataConnectorCredentialsEntity, DataConnectorEntity, toUserDataConnector } from './data-connector.entity.js';
import { rethrowTaken } from './data-connectors.service.js';

type CreateInput = z.output<typeof createUserDataConnectorInputSchema>;
type UpdateInput = z.output<typeof updateUserDataConnectorInputSchema>;

/**
 * A user's own data connectors, mounted into every session of theirs (in any project) beside the
 * project's. Only their owner sees or changes one: to anyone else, admins included, it does not
 * exist (as with a user's secrets). Its credentials are the owner's storage secrets, given with it.
 */
@Injectable()
export class UserDataConnectorsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly secrets: SecretsService,
  ) {}

  async list(caller: Principal): Promise<UserDataConnector[]> {
    const rows = await this.dataSource.getRepository(DataConnectorEntity).find({ where: { userId: caller.userId }, order: { name: 'ASC' } });
    const mine = await this.dataSource.getRepository(DataConnectorCredentialsEntity).findBy({ userId: caller.userId });
    return rows.map((r) => toUserDataConnector(r, mine.find((m) => m.connectorId === r.id)?.secrets ?? {}));
  }

  async get(id: string, caller: Principal): Promise<UserDataConnector> {
    const row = await this.own(this.dataSource.manager, id, caller);
    return toUserDataConnector(row, await this.credentialsOf(this.dataSource.manager, id, caller.userId));
  }

  async create(input: CreateInput, caller: Principal): Promise<UserDataConnector> {
    const { credentials, ...fields } = input;
    return this.dataSource.transaction(async (manager) => {
      await this.secrets.openStorageSecrets(manager, caller.userId, Object.values(credentials));
      const now = new Date();
      const row = manager.create(DataConnectorEntity, { id: randomUUID(), projectId: null, userId: caller.userId, ...fields, createdBy: caller.userId, createdAt: now, updatedAt: now });
      await manager.save(row).catch((error: unknown) => rethrowTaken(error, row));
      await manager.insert(DataConnectorCredentialsEntity, { connectorId: row.id, userId: caller.userId, secrets: credentials });
      return toUserDataConnector(row, credentials);
    });
  }

  async update(id: string, input: UpdateInput, caller: Principal): Promise<UserDataConnector> {
    const { credentials, ...fields } = input;
    return this.dataSource.transaction(async (manager) => {
      const row = await this.own(manager, id, caller, true);
      if (credentials) {
        await this.secrets.openStorageSecrets(manager, caller.userId, Object.values(credentials));
        await manager.upsert(DataConnectorCredentialsEntity, { connectorId: id, userId: caller.userId, secrets: credentials }, ['connectorId', 'userId']);
      }
      Object.assign(row, fields, { updatedAt: new Date() });
      await manager.save(row).catch((error: unknown) => rethrowTaken(error, row));
      return toUserDataConnector(row, credentials ?? (await this.credentialsOf(manager, id, caller.userId)));
    });
  }

  async delete(id: string, caller: Principal): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await this.own(manager, id, caller, true);
      await manager.delete(DataConnectorEntity, { id });
    });
  }

  private async own(manager: EntityManager, id: string, caller: Principal, lock = false): Promise<DataConnectorEntity> {
    const row = await manager.findOne(DataConnectorEntity, { where: { id, userId: caller.userId }, ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
    // Someone else's connector does not exist for the caller.
    if (!row) throw new SessionsError(SessionsErrorCode.DATA_CONNECTOR_NOT_FOUND, `data connector ${id} was not found among your own data connectors`);
    return row;
  }

  private async credentialsOf(manager: EntityManager, connectorId: string, userId: string): Promise<Record<string, string>> {
    return (await manager.findOneBy(DataConnectorCredentialsEntity, { connectorId, userId }))?.secrets ?? {};
  }
}
