import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Launchers set variables (a secret one's value only sealed) and may ask for a disk size; global
 * environments can be archived (kept for the launchers that use them, offered to no new one).
 */
export class AddLauncherVariablesAndArchive1764000000711 implements MigrationInterface {
  name = 'AddLauncherVariablesAndArchive1764000000711';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE launchers ADD COLUMN env_variables jsonb NOT NULL DEFAULT '[]', ADD COLUMN disk_storage_gb integer`);
    await q.query(`ALTER TABLE launchers ADD CONSTRAINT launchers_disk_storage_positive CHECK (disk_storage_gb IS NULL OR disk_storage_gb > 0)`);
    await q.query(`ALTER TABLE environments ADD COLUMN is_archived boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE environments DROP COLUMN is_archived`);
    await q.query(`ALTER TABLE launchers DROP CONSTRAINT launchers_disk_storage_positive, DROP COLUMN disk_storage_gb, DROP COLUMN env_variables`);
  }
}
