import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Resource classes say where and how their sessions run on a cluster: the GPU's extended resource
 * name, a node selector and tolerations, limits beside the requests (cpu, memory_gb, gpu), and the
 * StorageClass of the work volume. Existing classes keep today's behaviour (nulls and empties).
 */
export class AddClassPlacement1764000001470 implements MigrationInterface {
  name = 'AddClassPlacement1764000001470';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE resource_classes
        ADD COLUMN gpu_resource_name text,
        ADD COLUMN node_selector jsonb NOT NULL DEFAULT '{}'::jsonb,
        ADD COLUMN tolerations jsonb NOT NULL DEFAULT '[]'::jsonb,
        ADD COLUMN cpu_limit double precision,
        ADD COLUMN memory_limit_gb double precision,
        ADD COLUMN storage_class_name text,
        -- A limit is at least its request, as Kubernetes requires of a pod.
        ADD CONSTRAINT resource_classes_cpu_limit CHECK (cpu_limit > 0 AND cpu_limit >= cpu),
        ADD CONSTRAINT resource_classes_memory_limit CHECK (memory_limit_gb > 0 AND memory_limit_gb >= memory_gb)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE resource_classes
        DROP CONSTRAINT resource_classes_memory_limit, DROP CONSTRAINT resource_classes_cpu_limit,
        DROP COLUMN storage_class_name, DROP COLUMN memory_limit_gb, DROP COLUMN cpu_limit,
        DROP COLUMN tolerations, DROP COLUMN node_selector, DROP COLUMN gpu_resource_name`);
  }
}
