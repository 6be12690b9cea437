import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Pools' own idle and hibernation thresholds (0 = never), sessions' own, and the hibernation warning given. */
export class AddIdleThresholds1764000001441 implements MigrationInterface {
  name = 'AddIdleThresholds1764000001441';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE resource_pools ADD COLUMN idle_threshold_s integer CHECK (idle_threshold_s >= 0), ADD COLUMN hibernation_threshold_s integer CHECK (hibernation_threshold_s >= 0)`);
    await q.query(`ALTER TABLE sessions ADD COLUMN idle_timeout_ms bigint, ADD COLUMN hibernated_ttl_ms bigint, ADD COLUMN hibernation_warned_for timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions DROP COLUMN hibernation_warned_for, DROP COLUMN hibernated_ttl_ms, DROP COLUMN idle_timeout_ms`);
    await q.query(`ALTER TABLE resource_pools DROP COLUMN hibernation_threshold_s, DROP COLUMN idle_threshold_s`);
  }
}
