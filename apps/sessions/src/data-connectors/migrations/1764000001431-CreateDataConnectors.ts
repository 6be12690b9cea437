import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Projects' data connectors (rclone storage mounted into sessions) and each user's credentials for them. */
export class CreateDataConnectors1764000001431 implements MigrationInterface {
  name = 'CreateDataConnectors1764000001431';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE data_connectors (
        id uuid PRIMARY KEY,
        project_id text NOT NULL,
        name text NOT NULL,
        storage_type text NOT NULL,
        configuration jsonb NOT NULL,
        source_path text NOT NULL,
        target_path text NOT NULL,
        readonly boolean NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT data_connectors_project_name UNIQUE (project_id, name),
        CONSTRAINT data_connectors_project_target UNIQUE (project_id, target_path)
      )`);
    await q.query(`
      CREATE TABLE data_connector_credentials (
        connector_id uuid NOT NULL REFERENCES data_connectors (id) ON DELETE CASCADE,
        user_id text NOT NULL,
        secrets jsonb NOT NULL,
        PRIMARY KEY (connector_id, user_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE data_connector_credentials`);
    await q.query(`DROP TABLE data_connectors`);
  }
}
