import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Users' own secrets (sealed), projects' secret slots, and which secret each user fills a slot with. */
export class CreateSecrets1764000001421 implements MigrationInterface {
  name = 'CreateSecrets1764000001421';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE user_secrets (
        id uuid PRIMARY KEY,
        user_id text NOT NULL,
        name text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('general', 'storage')),
        sealed text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT user_secrets_user_name UNIQUE (user_id, name)
      )`);
    await q.query(`
      CREATE TABLE secret_slots (
        id uuid PRIMARY KEY,
        project_id text NOT NULL,
        name text NOT NULL,
        description text,
        filename text NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT secret_slots_project_name UNIQUE (project_id, name),
        CONSTRAINT secret_slots_project_filename UNIQUE (project_id, filename)
      )`);
    await q.query(`
      CREATE TABLE secret_slot_fills (
        slot_id uuid NOT NULL REFERENCES secret_slots (id) ON DELETE CASCADE,
        user_id text NOT NULL,
        secret_id uuid NOT NULL REFERENCES user_secrets (id) ON DELETE CASCADE,
        PRIMARY KEY (slot_id, user_id)
      )`);
    await q.query(`CREATE INDEX secret_slot_fills_secret ON secret_slot_fills (secret_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE secret_slot_fills`);
    await q.query(`DROP TABLE secret_slots`);
    await q.query(`DROP TABLE user_secrets`);
  }
}
