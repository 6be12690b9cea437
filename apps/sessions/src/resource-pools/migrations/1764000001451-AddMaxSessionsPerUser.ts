import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A pool's own limit on the sessions one user may hold in it at once (null: SESSIONS_PER_USER_PER_POOL). */
export class AddMaxSessionsPerUser1764000001451 implements MigrationInterface {
  name = 'AddMaxSessionsPerUser1764000001451';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE resource_pools ADD COLUMN max_sessions_per_user integer CHECK (max_sessions_per_user >= 1)`);
    // Counted at every launch and resume, under the pool's lock.
    await q.query(`CREATE INDEX sessions_pool_user_holding ON sessions (resource_pool_id, user_id) WHERE status IN ('starting', 'running', 'stopping')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX sessions_pool_user_holding`);
    await q.query(`ALTER TABLE resource_pools DROP COLUMN max_sessions_per_user`);
  }
}
