import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateEnvironments1764000000100 implements MigrationInterface {
  name = 'CreateEnvironments1764000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE environments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        kind text NOT NULL CHECK (kind IN ('global', 'custom')),
        project_id text,
        name text NOT NULL,
        description text,
        keywords text[] NOT NULL DEFAULT '{}',
        is_default boolean NOT NULL DEFAULT false,
        image text NOT NULL,
        port integer NOT NULL,
        default_url text NOT NULL,
        working_directory text NOT NULL,
        mount_directory text NOT NULL,
        uid integer NOT NULL,
        gid integer NOT NULL,
        command text[] NOT NULL DEFAULT '{}',
        args text[] NOT NULL DEFAULT '{}',
        env jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT custom_environments_belong_to_a_project CHECK ((kind = 'custom') = (project_id IS NOT NULL)),
        CONSTRAINT only_global_environments_are_default CHECK (NOT is_default OR kind = 'global')
      )`);
    await q.query(`CREATE UNIQUE INDEX environments_global_name ON environments (lower(name)) WHERE kind = 'global'`);
    await q.query(`CREATE UNIQUE INDEX environments_one_default ON environments (is_default) WHERE is_default`);
    await q.query(`CREATE INDEX environments_keywords ON environments USING gin (keywords)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE environments`);
  }
}
