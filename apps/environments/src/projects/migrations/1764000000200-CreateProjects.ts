import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateProjects1764000000200 implements MigrationInterface {
  name = 'CreateProjects1764000000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE projects (
        id text PRIMARY KEY,
        path text NOT NULL,
        name text NOT NULL,
        visibility text NOT NULL CHECK (visibility IN ('private', 'internal', 'public')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE project_members (
        project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        user_id text NOT NULL,
        role text NOT NULL CHECK (role IN ('guest', 'reporter', 'developer', 'maintainer', 'owner')),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (project_id, user_id)
      )`);
    await q.query(`CREATE INDEX project_members_user ON project_members (user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE project_members`);
    await q.query(`DROP TABLE projects`);
  }
}
