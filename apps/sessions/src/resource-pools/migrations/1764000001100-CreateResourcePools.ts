import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateResourcePools1764000001100 implements MigrationInterface {
  name = 'CreateResourcePools1764000001100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE resource_pools (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        public boolean NOT NULL DEFAULT false,
        is_default boolean NOT NULL DEFAULT false,
        quota_cpu double precision NOT NULL CHECK (quota_cpu >= 0),
        quota_memory_gb double precision NOT NULL CHECK (quota_memory_gb >= 0),
        quota_gpu integer NOT NULL CHECK (quota_gpu >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX resource_pools_name ON resource_pools (lower(name))`);
    await q.query(`CREATE UNIQUE INDEX resource_pools_one_default ON resource_pools (is_default) WHERE is_default`);
    await q.query(`
      CREATE TABLE resource_classes (
        id text PRIMARY KEY,
        pool_id uuid NOT NULL REFERENCES resource_pools (id) ON DELETE CASCADE,
        name text NOT NULL,
        cpu double precision NOT NULL CHECK (cpu > 0),
        memory_gb double precision NOT NULL CHECK (memory_gb > 0),
        gpu integer NOT NULL CHECK (gpu >= 0),
        disk_gb double precision NOT NULL CHECK (disk_gb >= 0),
        is_default boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX resource_classes_one_default_per_pool ON resource_classes (pool_id) WHERE is_default`);
    await q.query(`
      CREATE TABLE resource_pool_users (
        pool_id uuid NOT NULL REFERENCES resource_pools (id) ON DELETE CASCADE,
        user_id text NOT NULL,
        PRIMARY KEY (pool_id, user_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE resource_pool_users`);
    await q.query(`DROP TABLE resource_classes`);
    await q.query(`DROP TABLE resource_pools`);
  }
}
