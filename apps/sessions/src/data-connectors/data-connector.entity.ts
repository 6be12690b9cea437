import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { DataConnector } from '@launchpad/contracts';

/** A project's storage location, mounted into its sessions at /work/<target_path> with rclone. */
@Entity({ name: 'data_connectors' })
export class DataConnectorEntity {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ name: 'project_id', type: 'text' }) projectId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ name: 'storage_type', type: 'text' }) storageType!: string;
  @Column({ type: 'jsonb' }) configuration!: Record<string, string>;
  @Column({ name: 'source_path', type: 'text' }) sourcePath!: string;
  @Column({ name: 'target_path', type: 'text' }) targetPath!: string;
  @Column({ type: 'boolean' }) readonly!: boolean;
  @Column({ name: 'created_by', type: 'text' }) createdBy!: string;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** Which of a user's storage secrets fill which rclone options of a connector, for that user's sessions. */
@Entity({ name: 'data_connector_credentials' })
export class DataConnectorCredentialsEntity {
  @PrimaryColumn({ name: 'connector_id', type: 'uuid' }) connectorId!: string;
  @PrimaryColumn({ name: 'user_id', type: 'text' }) userId!: string;
  @Column({ type: 'jsonb' }) secrets!: Record<string, string>;
}

export const dataConnectorEntities = [DataConnectorEntity, DataConnectorCredentialsEntity];

export function toDataConnector(c: DataConnectorEntity, credentials: Record<string, string>): DataConnector {
  return {
    id: c.id,
    projectId: c.projectId,
    name: c.name,
    storageType: c.storageType,
    configuration: c.configuration,
    sourcePath: c.sourcePath,
    targetPath: c.targetPath,
    readonly: c.readonly,
    createdBy: c.createdBy,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    credentials,
  };
}
