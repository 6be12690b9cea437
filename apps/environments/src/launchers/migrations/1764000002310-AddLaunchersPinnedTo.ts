import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `launchers_pinned_to(project, branch)`: whether any launcher of the project is pinned to the
 * branch. PL/pgSQL and VOLATILE so that its query takes a snapshot of its own when it runs, not
 * the calling statement's: the builds consumer calls it, in the one statement that applies a
 * build event, after that statement took the project's launcher lock, and must see the launchers
 * committed while it waited (BuildsConsumer).
 */
export class AddLaunchersPinnedTo1764000002310 implements MigrationInterface {
  name = 'AddLaunchersPinnedTo1764000002310';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE FUNCTION launchers_pinned_to(project text, branch text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $fn$
      BEGIN
        RETURN EXISTS (SELECT 1 FROM launchers WHERE project_id = project AND pin_ref = branch);
      END
    $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION launchers_pinned_to(text, text)`);
  }
}
