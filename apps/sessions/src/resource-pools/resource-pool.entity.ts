import { Column, Entity, OneToMany, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { ResourceClass } from '@launchpad/contracts';

@Entity({ name: 'resource_pools' })
export class ResourcePoolEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'boolean' }) public!: boolean;
  @Column({ name: 'is_default', type: 'boolean' }) isDefault!: boolean;
  @Column({ name: 'quota_cpu', type: 'double precision' }) quotaCpu!: number;
  @Column({ name: 'quota_memory_gb', type: 'double precision' }) quotaMemoryGb!: number;
  @Column({ name: 'quota_gpu', type: 'integer' }) quotaGpu!: number;
  /** Seconds; 0 = never; null = the service's default. */
  @Column({ name: 'idle_threshold_s', type: 'integer', nullable: true }) idleThresholdS!: number | null;
  @Column({ name: 'hibernation_threshold_s', type: 'integer', nullable: true }) hibernationThresholdS!: number | null;
  /** Sessions one user may hold in the pool at once; null = the service's default. */
  @Column({ name: 'max_sessions_per_user', type: 'integer', nullable: true }) maxSessionsPerUser!: number | null;
  @OneToMany(() => ResourceClassEntity, (c) => c.pool, { eager: true }) classes!: ResourceClassEntity[];
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'resource_classes' })
export class ResourceClassEntity {
  @PrimaryColumn({ type: 'text' }) id!: string;
  @Column({ name: 'pool_id', type: 'uuid' }) poolId!: string;
  @ManyToOne(() => ResourcePoolEntity, (p) => p.classes, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'pool_id' })
  pool!: ResourcePoolEntity;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'double precision' }) cpu!: number;
  @Column({ name: 'memory_gb', type: 'double precision' }) memoryGb!: number;
  @Column({ type: 'integer' }) gpu!: number;
  @Column({ name: 'disk_gb', type: 'double precision' }) diskGb!: number;
  /** Null: a session may ask for no more than diskGb. */
  @Column({ name: 'max_storage_gb', type: 'double precision', nullable: true }) maxStorageGb!: number | null;
  @Column({ name: 'is_default', type: 'boolean' }) isDefault!: boolean;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

/** The most disk a session of this class may ask for. */
export const maxStorageOf = (c: Pick<ResourceClassEntity, 'diskGb' | 'maxStorageGb'>): number => Math.max(c.diskGb, c.maxStorageGb ?? c.diskGb);

@Entity({ name: 'resource_pool_users' })
export class ResourcePoolUserEntity {
  @PrimaryColumn({ name: 'pool_id', type: 'uuid' }) poolId!: string;
  @PrimaryColumn({ name: 'user_id', type: 'text' }) userId!: string;
}

export function toResourceClass(c: ResourceClassEntity): ResourceClass {
  return {
    id: c.id,
    poolId: c.poolId,
    name: c.name,
    cpu: c.cpu,
    memoryGb: c.memoryGb,
    gpu: c.gpu,
    diskGb: c.diskGb,
    defaultStorageGb: c.diskGb,
    maxStorageGb: maxStorageOf(c),
    isDefault: c.isDefault,
  };
}
