import type { MigrationInterface, QueryRunner } from 'typeorm';

/** What the last look at a session's program (Jupyter's /api/status and /api/kernels) saw, for its idleReason. */
export class AddActivitySeen1764000001461 implements MigrationInterface {
  name = 'AddActivitySeen1764000001461';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions ADD COLUMN activity_seen jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions DROP COLUMN activity_seen`);
  }
}
