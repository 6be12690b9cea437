import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Disk a session asks for, within its class's max_storage_gb, and what it uses (measured by the
 * runtime; warned about once at 90 %).
 */
export class AddSessionDisk1764000001412 implements MigrationInterface {
  name = 'AddSessionDisk1764000001412';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE resource_classes ADD COLUMN max_storage_gb double precision CHECK (max_storage_gb IS NULL OR max_storage_gb >= disk_gb)`);
    await q.query(`ALTER TABLE sessions ADD COLUMN disk_used_bytes bigint, ADD COLUMN disk_measured_at timestamptz, ADD COLUMN disk_warned_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions DROP COLUMN disk_warned_at, DROP COLUMN disk_measured_at, DROP COLUMN disk_used_bytes`);
    await q.query(`ALTER TABLE resource_classes DROP COLUMN max_storage_gb`);
  }
}
