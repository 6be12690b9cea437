import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Data connectors owned by a user (mounted into all their sessions) as well as by a project:
 * exactly one owner per row, and names and target paths unique per owner.
 */
export class AddUserDataConnectors1764000001481 implements MigrationInterface {
  name = 'AddUserDataConnectors1764000001481';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE data_connectors ALTER COLUMN project_id DROP NOT NULL, ADD COLUMN user_id text`);
    await q.query(`ALTER TABLE data_connectors ADD CONSTRAINT data_connectors_one_owner CHECK ((project_id IS NULL) <> (user_id IS NULL))`);
    await q.query(`ALTER TABLE data_connectors ADD CONSTRAINT data_connectors_user_name UNIQUE (user_id, name), ADD CONSTRAINT data_connectors_user_target UNIQUE (user_id, target_path)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM data_connectors WHERE user_id IS NOT NULL`);
    await q.query(`ALTER TABLE data_connectors DROP CONSTRAINT data_connectors_user_target, DROP CONSTRAINT data_connectors_user_name, DROP CONSTRAINT data_connectors_one_owner`);
    await q.query(`ALTER TABLE data_connectors DROP COLUMN user_id, ALTER COLUMN project_id SET NOT NULL`);
  }
}
