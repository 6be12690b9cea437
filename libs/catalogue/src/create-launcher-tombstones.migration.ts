import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Launchers the service heard were deleted; since VersionCatalogue1764000009100 their tombstones are rows of catalogue_launchers. */
export class CreateLauncherTombstones1764000000200 implements MigrationInterface {
  name = 'CreateLauncherTombstones1764000000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE catalogue_deleted_launchers (id uuid PRIMARY KEY, deleted_at timestamptz NOT NULL DEFAULT now())`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE catalogue_deleted_launchers`);
  }
}
