import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateLaunchers1764000000300 implements MigrationInterface {
  name = 'CreateLaunchers1764000000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE launchers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        name text NOT NULL,
        description text,
        kind text NOT NULL CHECK (kind IN ('session', 'app')),
        environment_id uuid NOT NULL REFERENCES environments (id) ON DELETE RESTRICT,
        resource_class_id text,
        is_default boolean NOT NULL DEFAULT false,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX launchers_project_name ON launchers (project_id, lower(name))`);
    await q.query(`CREATE UNIQUE INDEX launchers_one_default_per_project ON launchers (project_id) WHERE is_default`);
    await q.query(`CREATE INDEX launchers_environment ON launchers (environment_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE launchers`);
  }
}
