import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The last successful start of each launcher by kind, and the estimate a starting session was given from it. */
export class AddLaunchTimings1764000001471 implements MigrationInterface {
  name = 'AddLaunchTimings1764000001471';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE launch_timings (launcher_id uuid NOT NULL, kind text NOT NULL CHECK (kind IN ('launch', 'resume')), timing jsonb NOT NULL, recorded_at timestamptz NOT NULL, PRIMARY KEY (launcher_id, kind))`,
    );
    await q.query(`ALTER TABLE sessions ADD COLUMN launch_estimate jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions DROP COLUMN launch_estimate`);
    await q.query(`DROP TABLE launch_timings`);
  }
}
