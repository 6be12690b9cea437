import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateSessions1764000001300 implements MigrationInterface {
  name = 'CreateSessions1764000001300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id text NOT NULL,
        launcher_id uuid NOT NULL,
        project_id text NOT NULL,
        name text NOT NULL,
        status text NOT NULL CHECK (status IN ('starting', 'running', 'hibernated', 'failed', 'stopping')),
        desired_state text NOT NULL CHECK (desired_state IN ('running', 'hibernated', 'deleted')),
        phase text NOT NULL,
        message text,
        image text NOT NULL,
        spec jsonb NOT NULL,
        resource_class_id text NOT NULL,
        resource_pool_id uuid NOT NULL,
        cpu double precision NOT NULL,
        memory_gb double precision NOT NULL,
        gpu integer NOT NULL,
        disk_gb double precision NOT NULL,
        endpoint text,
        progress_seq integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        last_interaction timestamptz NOT NULL DEFAULT now(),
        hibernated_at timestamptz,
        hibernation_reason text,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // At most one live session per user and launcher; a deleted one is on its way out and frees the slot.
    await q.query(`CREATE UNIQUE INDEX sessions_one_per_user_launcher ON sessions (user_id, launcher_id) WHERE desired_state <> 'deleted'`);
    await q.query(`CREATE INDEX sessions_user ON sessions (user_id)`);
    await q.query(`CREATE INDEX sessions_pool_holding ON sessions (resource_pool_id) WHERE status IN ('starting', 'running', 'stopping')`);
    await q.query(`
      CREATE TABLE session_progress (
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        seq integer NOT NULL,
        phase text NOT NULL,
        status text,
        message text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (session_id, seq)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE session_progress`);
    await q.query(`DROP TABLE sessions`);
  }
}
