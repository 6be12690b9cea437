import { Column, Entity, OneToMany, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { ResourceClass, ResourceClassToleration } from '@launchpad/contracts';

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
  /** Null: `nvidia.com/gpu`. */
  @Column({ name: 'gpu_resource_name', type: 'text', nullable: true }) gpuResourceName!: string | null;
  @Column({ name: 'node_selector', type: 'jsonb' }) nodeSelector!: Record<string, string>;
  @Column({ type: 'jsonb' }) tolerations!: ResourceClassToleration[];
  /** Null: no cpu limit. */
  @Column({ name: 'cpu_limit', type: 'double precision', nullable: true }) cpuLimit!: number | null;
  /** Null: the limit is the request. */
  @Column({ name: 'memory_limit_gb', type: 'double precision', nullable: true }) memoryLimitGb!: number | null;
  /** Null: the service's KUBERNETES_STORAGE_CLASS, or the cluster's default. */
  @Column({ name: 'storage_class_name', type: 'text', nullable: true }) storageClassName!: string | null;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

/**
 * Where and how a session of this class runs on a cluster, copied into the session's launch
 * snapshot (SessionRunSpec.placement) at launch and again at resume, as cpu and memory are.
 */
export interface ClassPlacement {
  gpuResourceName: string | null;
  nodeSelector: Record<string, string>;
  tolerations: ResourceClassToleration[];
  limits: { cpu: number | null; memoryGb: number | null };
  storageClassName: string | null;
}

export const placementOf = (c: ResourceClassEntity): ClassPlacement => ({
  gpuResourceName: c.gpuResourceName ?? null,
  nodeSelector: c.nodeSelector ?? {},
  tolerations: c.tolerations ?? [],
  limits: { cpu: c.cpuLimit ?? null, memoryGb: c.memoryLimitGb ?? null },
  storageClassName: c.storageClassName ?? null,
});

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
    gpuResourceName: c.gpuResourceName ?? null,
    nodeSelector: c.nodeSelector ?? {},
    tolerations: c.tolerations ?? [],
    cpuLimit: c.cpuLimit ?? null,
    memoryLimitGb: c.memoryLimitGb ?? null,
    storageClassName: c.storageClassName ?? null,
  };
}
