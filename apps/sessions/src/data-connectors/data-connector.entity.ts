import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { DataConnector, UserDataConnector } from '@launchpad/contracts';

/**
 * A storage location mounted at /work/<target_path> with rclone: a project's, into its sessions, or
 * a user's own, into all of theirs. Exactly one of project_id and user_id is set (a CHECK says so).
 */
@Entity({ name: 'data_connectors' })
export class DataConnectorEntity {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ name: 'project_id', type: 'text', nullable: true }) projectId!: string | null;
  @Column({ name: 'user_id', type: 'text', nullable: true }) userId!: string | null;
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

/** A project's connector (read by its project id, so project_id is set). */
export function toDataConnector(c: DataConnectorEntity, credentials: Record<string, string>): DataConnector {
  return { ...fieldsOf(c, credentials), projectId: c.projectId ?? '' };
}

/** A user's own connector (read by its owner, so user_id is set). */
export function toUserDataConnector(c: DataConnectorEntity, credentials: Record<string, string>): UserDataConnector {
  return { ...fieldsOf(c, credentials), userId: c.userId ?? '' };
}

function fieldsOf(c: DataConnectorEntity, credentials: Record<string, string>) {
  return {
    id: c.id,
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
