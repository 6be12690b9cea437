import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The read model applies events by version (apply-rule.ts): every row keeps the version of the
 * copy it holds, and a removal stays as a tombstone with its version instead of deleting the row.
 *
 * Rows kept before this get version 0, "from before versions": the next versioned event of each
 * replaces it. Launcher tombstones move from catalogue_deleted_launchers into catalogue_launchers,
 * so that a deletion and a late copy of the launcher serialise on one row; the old table stays,
 * unused, for replicas of the previous release during a rolling update.
 */
export class VersionCatalogue1764000009100 implements MigrationInterface {
  name = 'VersionCatalogue1764000009100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE catalogue_members ADD COLUMN version bigint NOT NULL DEFAULT 0, ALTER COLUMN role DROP NOT NULL`);

    await q.query(`
      ALTER TABLE catalogue_projects
        ADD COLUMN version bigint NOT NULL DEFAULT 0,
        ADD COLUMN deleted_at timestamptz,
        ALTER COLUMN path DROP NOT NULL,
        ALTER COLUMN visibility DROP NOT NULL,
        ADD CONSTRAINT catalogue_projects_live CHECK (deleted_at IS NOT NULL OR (path IS NOT NULL AND visibility IS NOT NULL))`);

    await q.query(`
      ALTER TABLE catalogue_launchers
        ADD COLUMN version bigint NOT NULL DEFAULT 0,
        ADD COLUMN deleted_at timestamptz,
        ALTER COLUMN project_id DROP NOT NULL,
        ALTER COLUMN name DROP NOT NULL,
        ALTER COLUMN kind DROP NOT NULL,
        ALTER COLUMN environment DROP NOT NULL,
        ALTER COLUMN updated_at DROP NOT NULL,
        ADD CONSTRAINT catalogue_launchers_live CHECK (
          deleted_at IS NOT NULL OR (project_id IS NOT NULL AND name IS NOT NULL AND kind IS NOT NULL AND environment IS NOT NULL AND updated_at IS NOT NULL))`);
    const [{ exists }] = (await q.query(`SELECT to_regclass('catalogue_deleted_launchers') IS NOT NULL AS exists`)) as { exists: boolean }[];
    if (exists) {
      await q.query(`
        INSERT INTO catalogue_launchers (id, deleted_at) SELECT id, deleted_at FROM catalogue_deleted_launchers
        ON CONFLICT (id) DO UPDATE SET name = NULL, kind = NULL, environment = NULL, pin = NULL, resource_class_id = NULL, deleted_at = EXCLUDED.deleted_at`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM catalogue_launchers WHERE deleted_at IS NOT NULL`);
    await q.query(`
      ALTER TABLE catalogue_launchers DROP CONSTRAINT catalogue_launchers_live, DROP COLUMN deleted_at, DROP COLUMN version,
        ALTER COLUMN project_id SET NOT NULL, ALTER COLUMN name SET NOT NULL, ALTER COLUMN kind SET NOT NULL,
        ALTER COLUMN environment SET NOT NULL, ALTER COLUMN updated_at SET NOT NULL`);
    await q.query(`DELETE FROM catalogue_projects WHERE deleted_at IS NOT NULL`);
    await q.query(`
      ALTER TABLE catalogue_projects DROP CONSTRAINT catalogue_projects_live, DROP COLUMN deleted_at, DROP COLUMN version,
        ALTER COLUMN path SET NOT NULL, ALTER COLUMN visibility SET NOT NULL`);
    await q.query(`DELETE FROM catalogue_members WHERE role IS NULL`);
    await q.query(`ALTER TABLE catalogue_members DROP COLUMN version, ALTER COLUMN role SET NOT NULL`);
  }
}
