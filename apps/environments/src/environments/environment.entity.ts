import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Environment, ProgramAuth } from '@launchpad/contracts';
import { RowVersionColumn } from '../row-version.js';

@Entity({ name: 'environments' })
export class EnvironmentEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  /** `custom` and `code` environments belong to one launcher of one project. */
  @Column({ type: 'text' }) kind!: 'global' | 'custom' | 'code';
  @Column({ name: 'project_id', type: 'text', nullable: true }) projectId!: string | null;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  @Column({ type: 'text', array: true }) keywords!: string[];
  @Column({ name: 'is_default', type: 'boolean' }) isDefault!: boolean;
  @Column({ name: 'is_archived', type: 'boolean', default: false }) isArchived!: boolean;
  @Column({ type: 'text' }) image!: string;
  @Column({ type: 'integer' }) port!: number;
  @Column({ name: 'default_url', type: 'text' }) defaultUrl!: string;
  @Column({ name: 'working_directory', type: 'text' }) workingDirectory!: string;
  @Column({ name: 'mount_directory', type: 'text' }) mountDirectory!: string;
  @Column({ type: 'integer' }) uid!: number;
  @Column({ type: 'integer' }) gid!: number;
  @Column({ type: 'text', array: true }) command!: string[];
  @Column({ type: 'text', array: true }) args!: string[];
  @Column({ type: 'jsonb' }) env!: Record<string, string>;
  /** How its program takes a secret of its own (Jupyter's token), or none. */
  @Column({ type: 'jsonb' }) auth!: ProgramAuth;
  @Column({ name: 'created_by', type: 'text' }) createdBy!: string;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @RowVersionColumn() version!: number;
}

/** A global environment as the catalogue shows it (launchers' own environments go through toLauncher). */
export function toEnvironment(e: EnvironmentEntity): Environment {
  if (e.kind === 'code') throw new Error(`environment ${e.id} belongs to a launcher made from code, not to the catalogue`);
  return toLauncherEnvironment(e) as Environment;
}

export function toLauncherEnvironment(e: EnvironmentEntity): Omit<Environment, 'kind'> & { kind: EnvironmentEntity['kind'] } {
  return {
    id: e.id,
    kind: e.kind,
    projectId: e.projectId,
    name: e.name,
    description: e.description,
    keywords: e.keywords,
    isDefault: e.isDefault,
    isArchived: e.isArchived,
    image: e.image,
    port: e.port,
    defaultUrl: e.defaultUrl,
    workingDirectory: e.workingDirectory,
    mountDirectory: e.mountDirectory,
    uid: e.uid,
    gid: e.gid,
    command: e.command,
    args: e.args,
    env: e.env,
    auth: e.auth ?? { kind: 'none' },
    createdBy: e.createdBy,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
    version: e.version,
  };
}
