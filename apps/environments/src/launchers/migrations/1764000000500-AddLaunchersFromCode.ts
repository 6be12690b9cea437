import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Launchers made from code: an environment of kind `code` (run settings, image from the pinned
 * build), the pin and the *update available* flag on the launcher, and the read model of the
 * project builds that the builds service announces.
 */
export class AddLaunchersFromCode1764000000500 implements MigrationInterface {
  name = 'AddLaunchersFromCode1764000000500';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE environments DROP CONSTRAINT environments_kind_check`);
    await q.query(`ALTER TABLE environments ADD CONSTRAINT environments_kind_check CHECK (kind IN ('global', 'custom', 'code'))`);
    await q.query(`ALTER TABLE environments DROP CONSTRAINT custom_environments_belong_to_a_project`);
    await q.query(
      `ALTER TABLE environments ADD CONSTRAINT project_environments_belong_to_a_project CHECK ((kind IN ('custom', 'code')) = (project_id IS NOT NULL))`,
    );
    await q.query(`
      ALTER TABLE launchers
        ADD COLUMN pin_ref text,
        ADD COLUMN pin_sha text,
        ADD COLUMN pin_image text,
        ADD COLUMN pin_pipeline_id bigint,
        ADD COLUMN update_sha text,
        ADD COLUMN update_image text,
        ADD COLUMN update_pipeline_id bigint,
        ADD COLUMN update_at timestamptz,
        ADD CONSTRAINT launchers_pin_complete CHECK ((pin_ref IS NULL) = (pin_sha IS NULL) AND (pin_sha IS NULL) = (pin_image IS NULL)),
        ADD CONSTRAINT launchers_update_needs_pin CHECK (update_sha IS NULL OR pin_sha IS NOT NULL)`);
    await q.query(`CREATE INDEX launchers_pinned_ref ON launchers (project_id, pin_ref) WHERE pin_ref IS NOT NULL`);
    await q.query(`
      CREATE TABLE project_builds (
        project_id text NOT NULL,
        sha text NOT NULL,
        ref text,
        tag boolean NOT NULL,
        default_branch text,
        status text NOT NULL,
        image text NOT NULL,
        pipeline_id bigint,
        revision integer NOT NULL,
        finished_at timestamptz,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (project_id, sha)
      )`);
    await q.query(`CREATE INDEX project_builds_ref ON project_builds (project_id, ref, pipeline_id DESC NULLS LAST, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE project_builds`);
    await q.query(`DROP INDEX launchers_pinned_ref`);
    await q.query(`
      ALTER TABLE launchers DROP CONSTRAINT launchers_update_needs_pin, DROP CONSTRAINT launchers_pin_complete,
        DROP COLUMN pin_ref, DROP COLUMN pin_sha, DROP COLUMN pin_image, DROP COLUMN pin_pipeline_id,
        DROP COLUMN update_sha, DROP COLUMN update_image, DROP COLUMN update_pipeline_id, DROP COLUMN update_at`);
    await q.query(`ALTER TABLE environments DROP CONSTRAINT project_environments_belong_to_a_project`);
    await q.query(`ALTER TABLE environments ADD CONSTRAINT custom_environments_belong_to_a_project CHECK ((kind = 'custom') = (project_id IS NOT NULL))`);
    await q.query(`ALTER TABLE environments DROP CONSTRAINT environments_kind_check`);
    await q.query(`ALTER TABLE environments ADD CONSTRAINT environments_kind_check CHECK (kind IN ('global', 'custom'))`);
  }
}
