import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  type createDataConnectorInputSchema,
  type DataConnector,
  type dataConnectorsOverridesSchema,
  type Principal,
  SessionsError,
  SessionsErrorCode,
  type updateDataConnectorInputSchema,
} from '@launchpad/contracts';
import { isUniqueViolation } from '@launchpad/persistence';
import type { StorageMount } from '@launchpad/runtime';
import { DataSource, type EntityManager } from 'typeorm';
import type { z } from 'zod';
import { SecretsService } from '../secrets/secrets.service.js';
import { planMounts } from './connector-mounts.js';
import { DataConnectorCredentialsEntity, DataConnectorEntity, toDataConnector } from './data-connector.entity.js';

type CreateInput = z.output<typeof createDataConnectorInputSchema>;
type UpdateInput = z.output<typeof updateDataConnectorInputSchema>;
type Overrides = z.output<typeof dataConnectorsOverridesSchema>;

/**
 * A project's data connectors: storage that its sessions mount at /work/<targetPath> with rclone,
 * each user with credentials from their own `storage` secrets. Kept by the sessions service, which
 * mounts them and already keeps the secrets they need. A user's own connectors are kept by
 * UserDataConnectorsService; mountsFor mounts both.
 */
@Injectable()
export class DataConnectorsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly secrets: SecretsService,
  ) {}

  async list(projectId: string, caller: Principal): Promise<DataConnector[]> {
    await this.secrets.projectAccess(projectId, caller);
    const rows = await this.dataSource.getRepository(DataConnectorEntity).find({ where: { projectId }, order: { name: 'ASC' } });
    const mine = await this.dataSource.getRepository(DataConnectorCredentialsEntity).findBy({ userId: caller.userId });
    return rows.map((r) => toDataConnector(r, mine.find((m) => m.connectorId === r.id)?.secrets ?? {}));
  }

  async create(projectId: string, input: CreateInput, caller: Principal): Promise<DataConnector> {
    await this.secrets.requireEditor(projectId, caller, 'the data connectors');
    const now = new Date();
    const row = this.dataSource.manager.create(DataConnectorEntity, { id: randomUUID(), projectId, ...input, createdBy: caller.userId, createdAt: now, updatedAt: now });
    await this.dataSource.manager.save(row).catch((error: unknown) => rethrowTaken(error, row));
    return toDataConnector(row, {});
  }

  async update(projectId: string, id: string, input: UpdateInput, caller: Principal): Promise<DataConnector> {
    await this.secrets.requireEditor(projectId, caller, 'the data connectors');
    const row = await this.find(projectId, id);
    Object.assign(row, input, { updatedAt: new Date() });
    await this.dataSource.manager.save(row).catch((error: unknown) => rethrowTaken(error, row));
    return toDataConnector(row, await this.credentialsOf(id, caller.userId));
  }

  async delete(projectId: string, id: string, caller: Principal): Promise<void> {
    await this.secrets.requireEditor(projectId, caller, 'the data connectors');
    await this.find(projectId, id);
    await this.dataSource.manager.delete(DataConnectorEntity, { id });
  }

  /** The caller's own credentials for the connector: which of their storage secrets give which option. */
  async setCredentials(projectId: string, id: string, secrets: Record<string, string>, caller: Principal): Promise<DataConnector> {
    await this.secrets.projectAccess(projectId, caller);
    const row = await this.find(projectId, id);
    await this.secrets.openStorageSecrets(this.dataSource.manager, caller.userId, Object.values(secrets));
    await this.dataSource.manager.upsert(DataConnectorCredentialsEntity, { connectorId: id, userId: caller.userId, secrets }, ['connectorId', 'userId']);
    return toDataConnector(row, secrets);
  }

  /**
   * What a session of `userId` in the project mounts: the project's connectors and the user's own
   * (see planMounts: skips, overrides, a target path clash), each with the user's credentials.
   */
  async mountsFor(manager: EntityManager, projectId: string, userId: string, overrides: Overrides): Promise<StorageMount[]> {
    // The project's connectors and the user's own, in one statement.
    const rows = await manager.find(DataConnectorEntity, { where: [{ projectId }, { userId }], order: { targetPath: 'ASC' } });
    const projectRows = rows.filter((r) => r.projectId === projectId);
    const userRows = rows.filter((r) => r.userId === userId);
    const mounts: StorageMount[] = [];
    for (const { row, sourcePath, targetPath, readonly } of planMounts(projectRows, userRows, overrides)) {
      const credentials = (await manager.findOneBy(DataConnectorCredentialsEntity, { connectorId: row.id, userId }))?.secrets ?? {};
      const values = await this.secrets.openStorageSecrets(manager, userId, Object.values(credentials));
      const filled = Object.fromEntries(Object.entries(credentials).map(([option, secretId]) => [option, values.get(secretId) ?? '']));
      mounts.push({ name: row.name, storageType: row.storageType, configuration: { ...row.configuration, ...filled }, sourcePath, targetPath, readonly });
    }
    return mounts;
  }

  private async find(projectId: string, id: string): Promise<DataConnectorEntity> {
    const row = await this.dataSource.manager.findOneBy(DataConnectorEntity, { id, projectId });
    if (!row) throw new SessionsError(SessionsErrorCode.DATA_CONNECTOR_NOT_FOUND, `project ${projectId} has no data connector ${id}`);
    return row;
  }

  private async credentialsOf(connectorId: string, userId: string): Promise<Record<string, string>> {
    return (await this.dataSource.manager.findOneBy(DataConnectorCredentialsEntity, { connectorId, userId }))?.secrets ?? {};
  }
}

export function rethrowTaken(error: unknown, row: { name: string; targetPath: string }): never {
  if (isUniqueViolation(error, 'data_connectors_project_name')) throw new SessionsError(SessionsErrorCode.DATA_CONNECTOR_TAKEN, `the project already has a data connector named "${row.name}"`);
  if (isUniqueViolation(error, 'data_connectors_project_target')) {
    throw new SessionsError(SessionsErrorCode.DATA_CONNECTOR_TAKEN, `another data connector of the project is already mounted at /work/${row.targetPath}`);
  }
  if (isUniqueViolation(error, 'data_connectors_user_name')) throw new SessionsError(SessionsErrorCode.DATA_CONNECTOR_TAKEN, `you already have a data connector named "${row.name}"`);
  if (isUniqueViolation(error, 'data_connectors_user_target')) {
    throw new SessionsError(SessionsErrorCode.DATA_CONNECTOR_TAKEN, `another of your own data connectors is already mounted at /work/${row.targetPath}`);
  }
  throw error;
}
