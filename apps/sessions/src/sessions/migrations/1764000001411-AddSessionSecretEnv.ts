import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A session's secret variables (sealed, see session-env.ts). */
export class AddSessionSecretEnv1764000001411 implements MigrationInterface {
  name = 'AddSessionSecretEnv1764000001411';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions ADD COLUMN secret_env text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions DROP COLUMN secret_env`);
  }
}
