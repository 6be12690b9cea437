import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateBuilds1764000001200 implements MigrationInterface {
  name = 'CreateBuilds1764000001200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE builds (
        project_id text NOT NULL,
        sha text NOT NULL,
        ref text,
        tag boolean NOT NULL DEFAULT false,
        project_path text NOT NULL,
        default_branch text,
        status text NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'canceled')),
        image text NOT NULL,
        pipeline_id bigint,
        pipeline_url text,
        job_id bigint,
        job_url text,
        failure_reason text,
        revision integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        -- when the repair loop last asked GitLab about it
        checked_at timestamptz,
        PRIMARY KEY (project_id, sha)
      )`);
    await q.query(`CREATE INDEX builds_project_newest ON builds (project_id, pipeline_id DESC NULLS LAST, created_at DESC)`);
    await q.query(`CREATE INDEX builds_unfinished ON builds (updated_at) WHERE status IN ('pending', 'running')`);
    // One row per webhook delivery applied, so a delivery GitLab sends again changes nothing.
    await q.query(`
      CREATE TABLE webhook_deliveries (
        scope text NOT NULL,
        delivery_id text NOT NULL,
        event text NOT NULL,
        outcome text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, delivery_id)
      )`);
    await q.query(`CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at)`);
    await q.query(`
      CREATE TABLE webhook_secrets (
        project_id text PRIMARY KEY,
        hash text NOT NULL,
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Where each GitLab project and membership stands in GitLab's order (system hooks).
    await q.query(`
      CREATE TABLE gitlab_projects (
        project_id text PRIMARY KEY,
        path text NOT NULL,
        source_at timestamptz NOT NULL,
        source_rank integer NOT NULL,
        destroyed boolean NOT NULL
      )`);
    await q.query(`
      CREATE TABLE gitlab_members (
        project_id text NOT NULL,
        user_id text NOT NULL,
        source_at timestamptz NOT NULL,
        source_rank integer NOT NULL,
        removed boolean NOT NULL,
        PRIMARY KEY (project_id, user_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE gitlab_members`);
    await q.query(`DROP TABLE gitlab_projects`);
    await q.query(`DROP TABLE webhook_secrets`);
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE builds`);
  }
}
