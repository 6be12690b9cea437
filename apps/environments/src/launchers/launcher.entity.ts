import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Launcher } from '@launchpad/contracts';
import { EnvironmentEntity, toEnvironment } from '../environments/environment.entity.js';

@Entity({ name: 'launchers' })
export class LauncherEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'project_id', type: 'text' }) projectId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  @Column({ type: 'text' }) kind!: 'session' | 'app';
  @Column({ name: 'environment_id', type: 'uuid' }) environmentId!: string;
  @ManyToOne(() => EnvironmentEntity, { eager: true })
  @JoinColumn({ name: 'environment_id' })
  environment!: EnvironmentEntity;
  @Column({ name: 'resource_class_id', type: 'text', nullable: true }) resourceClassId!: string | null;
  @Column({ name: 'is_default', type: 'boolean' }) isDefault!: boolean;
  @Column({ name: 'created_by', type: 'text' }) createdBy!: string;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

export function toLauncher(l: LauncherEntity): Launcher {
  return {
    id: l.id,
    projectId: l.projectId,
    name: l.name,
    description: l.description,
    kind: l.kind,
    isDefault: l.isDefault,
    resourceClassId: l.resourceClassId,
    environment: toEnvironment(l.environment),
    createdBy: l.createdBy,
    createdAt: l.createdAt.toISOString(),
    updatedAt: l.updatedAt.toISOString(),
  };
}
