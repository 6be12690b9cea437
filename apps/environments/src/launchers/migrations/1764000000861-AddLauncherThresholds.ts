import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Launchers' own idle and hibernation thresholds (seconds, 0 = never; null: the pool's), bounded by the pool at launch. */
export class AddLauncherThresholds1764000000861 implements MigrationInterface {
  name = 'AddLauncherThresholds1764000000861';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE launchers ADD COLUMN idle_threshold_s integer CHECK (idle_threshold_s >= 0), ADD COLUMN hibernation_threshold_s integer CHECK (hibernation_threshold_s >= 0)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE launchers DROP COLUMN hibernation_threshold_s, DROP COLUMN idle_threshold_s`);
  }
}
