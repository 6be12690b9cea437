import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddProjectRepositories1764000000400 implements MigrationInterface {
  name = 'AddProjectRepositories1764000000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE projects ADD COLUMN repositories jsonb NOT NULL DEFAULT '[]'::jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE projects DROP COLUMN repositories`);
  }
}
