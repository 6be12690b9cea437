import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `webhook_secrets.project_version`: the version (environments' rowVersionSchema) of the project
 * copy its `project_path` came from, so that a late project.upserted (a rename delivered after a
 * newer one) does not roll the path back. Paths recorded before it have version 0: the next
 * versioned event replaces them.
 */
export class AddWebhookSecretProjectVersion1764000001230 implements MigrationInterface {
  name = 'AddWebhookSecretProjectVersion1764000001230';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_secrets ADD COLUMN project_version bigint NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_secrets DROP COLUMN project_version`);
  }
}
