import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Apps: one row per app launcher ever activated (kept while inactive, so its share link stays its own). */
export class CreateApps1764000002100 implements MigrationInterface {
  name = 'CreateApps1764000002100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE apps (
        launcher_id uuid PRIMARY KEY,
        project_id text NOT NULL,
        name text NOT NULL,
        slug text NOT NULL UNIQUE,
        status text NOT NULL CHECK (status IN ('inactive', 'active', 'failed')),
        message text,
        access text NOT NULL CHECK (access IN ('public', 'members')),
        min_replicas int NOT NULL CHECK (min_replicas >= 0),
        max_replicas int NOT NULL CHECK (max_replicas >= 1 AND max_replicas >= min_replicas),
        target_concurrency int NOT NULL CHECK (target_concurrency >= 1),
        desired_replicas int NOT NULL DEFAULT 0,
        generation int NOT NULL DEFAULT 1,
        spec jsonb NOT NULL,
        spec_hash text NOT NULL,
        command jsonb,
        endpoints jsonb NOT NULL DEFAULT '[]'::jsonb,
        route_version int NOT NULL DEFAULT 1,
        last_request_at timestamptz,
        activated_at timestamptz,
        activated_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX apps_project ON apps (project_id)`);
    await q.query(`CREATE INDEX apps_status ON apps (status)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE apps`);
  }
}
