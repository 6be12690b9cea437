import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * - Webhook secrets are stored as keyed HMAC-SHA256 digests (`hmac-sha256$...`) instead of scrypt
 *   hashes. A stored scrypt hash cannot be converted without the secret, so those rows are removed:
 *   their projects answer 401 until a maintainer sets the secret again (there was no production
 *   data when this changed). Each secret also records the project's path, from the projects
 *   service, so that images are named after the project that owns the secret.
 * - `server_keys`: a random key for the digests when WEBHOOK_SECRET_PEPPER is not set.
 * - `builds.repair_attempts`: how many times in a row the repair loop looked a build up without
 *   it changing, for its backoff.
 */
export class MultiplePipelinesAndKeyedSecrets1764000001210 implements MigrationInterface {
  name = 'MultiplePipelinesAndKeyedSecrets1764000001210';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM webhook_secrets WHERE hash NOT LIKE 'hmac-sha256$%'`);
    await q.query(`ALTER TABLE webhook_secrets ADD COLUMN project_path text`);
    await q.query(`CREATE TABLE server_keys (name text PRIMARY KEY, value text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`ALTER TABLE builds ADD COLUMN repair_attempts integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE builds DROP COLUMN repair_attempts`);
    await q.query(`DROP TABLE server_keys`);
    await q.query(`ALTER TABLE webhook_secrets DROP COLUMN project_path`);
  }
}
