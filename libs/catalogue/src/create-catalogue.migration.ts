import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A service's own copy of what it needs from `environments`, fed by its events (tables `catalogue_*` in its schema). */
export class CreateCatalogue1764000000100 implements MigrationInterface {
  name = 'CreateCatalogue1764000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE catalogue_launchers (
        id uuid PRIMARY KEY,
        project_id text NOT NULL,
        name text NOT NULL,
        kind text NOT NULL,
        environment jsonb NOT NULL,
        pin jsonb,
        resource_class_id text,
        updated_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX catalogue_launchers_environment ON catalogue_launchers ((environment->>'id'))`);
    await q.query(`
      CREATE TABLE catalogue_projects (
        id text PRIMARY KEY,
        path text NOT NULL,
        visibility text NOT NULL,
        repositories jsonb NOT NULL DEFAULT '[]'::jsonb,
        updated_at timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE catalogue_members (
        project_id text NOT NULL,
        user_id text NOT NULL,
        role text NOT NULL,
        PRIMARY KEY (project_id, user_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE catalogue_members`);
    await q.query(`DROP TABLE catalogue_projects`);
    await q.query(`DROP TABLE catalogue_launchers`);
  }
}
