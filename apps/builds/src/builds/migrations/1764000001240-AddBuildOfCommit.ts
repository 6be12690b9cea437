import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `build_of_commit(project, sha)`: the commit's build row, if any. PL/pgSQL and VOLATILE so that
 * its query takes a snapshot of its own when it runs, not the calling statement's: ReceiveWebhook
 * reads the record with it in the statement that takes the commit's lock, after the lock, and must
 * see what the lock's previous holder committed (one round trip fewer than a SELECT of its own).
 */
export class AddBuildOfCommit1764000001240 implements MigrationInterface {
  name = 'AddBuildOfCommit1764000001240';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE FUNCTION build_of_commit(project text, commit text) RETURNS SETOF builds LANGUAGE plpgsql VOLATILE AS $fn$
      BEGIN
        RETURN QUERY SELECT * FROM builds WHERE project_id = project AND sha = commit;
      END
    $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION build_of_commit(text, text)`);
  }
}
