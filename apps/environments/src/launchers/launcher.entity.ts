import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Launcher } from '@launchpad/contracts';
import { EnvironmentEntity, toLauncherEnvironment } from '../environments/environment.entity.js';
import { RowVersionColumn } from '../row-version.js';
import { showEnvVariables, type StoredEnvVariable } from './launcher-variables.js';

/** pg returns bigint as a string; GitLab ids fit in a double. */
export const bigintOrNull = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

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
  /** Launchers made from code: the build they run (all three set, or none). */
  @Column({ name: 'pin_ref', type: 'text', nullable: true }) pinRef!: string | null;
  @Column({ name: 'pin_sha', type: 'text', nullable: true }) pinSha!: string | null;
  @Column({ name: 'pin_image', type: 'text', nullable: true }) pinImage!: string | null;
  @Column({ name: 'pin_pipeline_id', type: 'bigint', nullable: true, transformer: bigintOrNull }) pinPipelineId!: number | null;
  /** A newer succeeded build of pin_ref, offered but not applied. */
  @Column({ name: 'update_sha', type: 'text', nullable: true }) updateSha!: string | null;
  @Column({ name: 'update_image', type: 'text', nullable: true }) updateImage!: string | null;
  @Column({ name: 'update_pipeline_id', type: 'bigint', nullable: true, transformer: bigintOrNull }) updatePipelineId!: number | null;
  @Column({ name: 'update_at', type: 'timestamptz', nullable: true }) updateAt!: Date | null;
  /** Variables its sessions get; a secret one's value only sealed (see launcher-variables.ts). */
  @Column({ name: 'env_variables', type: 'jsonb', default: () => `'[]'` }) envVariables!: StoredEnvVariable[];
  @Column({ name: 'disk_storage_gb', type: 'integer', nullable: true }) diskStorageGb!: number | null;
  /** Its sessions' own thresholds in seconds (0 = never; null: their pool's), bounded by the pool at launch. */
  @Column({ name: 'idle_threshold_s', type: 'integer', nullable: true }) idleThresholdS!: number | null;
  @Column({ name: 'hibernation_threshold_s', type: 'integer', nullable: true }) hibernationThresholdS!: number | null;
  @Column({ name: 'created_by', type: 'text' }) createdBy!: string;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @RowVersionColumn() version!: number;
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
    environment: toLauncherEnvironment(l.environment),
    pin: l.pinSha !== null && l.pinRef !== null && l.pinImage !== null ? { ref: l.pinRef, sha: l.pinSha, image: l.pinImage } : null,
    updateAvailable:
      l.updateSha !== null && l.updateImage !== null && l.updateAt !== null ? { sha: l.updateSha, image: l.updateImage, at: l.updateAt.toISOString() } : null,
    envVariables: showEnvVariables(l.envVariables),
    diskStorageGb: l.diskStorageGb ?? null,
    idleThresholdS: l.idleThresholdS ?? null,
    hibernationThresholdS: l.hibernationThresholdS ?? null,
    createdBy: l.createdBy,
    createdAt: l.createdAt.toISOString(),
    updatedAt: l.updatedAt.toISOString(),
    version: l.version,
  };
}
