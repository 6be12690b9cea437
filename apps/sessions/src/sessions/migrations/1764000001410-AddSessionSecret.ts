import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each session has a random secret of its own, which its program takes as its credential
 * (Jupyter's token) and the gateway adds to what it proxies. Existing sessions get one now (a
 * volatile default is evaluated per row); their programs take it when next resumed.
 */
export class AddSessionSecret1764000001410 implements MigrationInterface {
  name = 'AddSessionSecret1764000001410';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE sessions ADD COLUMN secret text NOT NULL DEFAULT (replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''))`,
    );
  }

  async down(): Promise<void> {
    throw new Error('forward-only migration');
  }
}
