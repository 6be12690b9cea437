import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Share links become origins (`<slug>.<APPS_DOMAIN>`) and slugs end in `--` and the start of the
 * launcher id (see slug.ts), so that no project path and launcher name can make, or take in
 * advance, another app's name. Existing apps get theirs the same way: old links change anyway,
 * from `/a/<slug>/` to the app's own origin.
 */
export class UnforgeableSlugs1764000002200 implements MigrationInterface {
  name = 'UnforgeableSlugs1764000002200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE apps
         SET slug = coalesce(nullif(regexp_replace(left(slug, 49), '-+$', ''), ''), 'app') || '--' || left(replace(launcher_id::text, '-', ''), 12)
       WHERE slug NOT LIKE '%--%'
    `);
  }

  async down(): Promise<void> {
    throw new Error('forward-only migration');
  }
}
