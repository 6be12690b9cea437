import type { MigrationInterface, QueryRunner } from 'typeorm';

const VERSIONED = ['projects', 'project_members', 'launchers', 'environments'];

/**
 * Every row that other services keep a copy of gets a version (contracts' rowVersionSchema): one
 * sequence for all of them, taken by a trigger on each insert and update. A BEFORE UPDATE trigger
 * runs once the row is locked, so two changes of one row get versions in the order they commit;
 * inserts that could race a removal of the same key (a member added again, a project made again)
 * are serialised with it by an advisory lock (apps/environments/src/locks.ts). A removal takes
 * its own `nextval('row_versions')` for its event. One sequence (not a counter per row) keeps
 * counting up across a removal and a new row with the same key, so the tombstone's version is
 * older than the new row's.
 *
 * Existing rows are numbered now, so their next event is newer than any copy kept from before.
 */
export class AddRowVersions1764000000800 implements MigrationInterface {
  name = 'AddRowVersions1764000000800';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE row_versions AS bigint`);
    await q.query(`
      CREATE FUNCTION take_row_version() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.version := nextval('row_versions');
        RETURN NEW;
      END $$`);
    for (const table of VERSIONED) {
      await q.query(`ALTER TABLE ${table} ADD COLUMN version bigint NOT NULL DEFAULT 0`);
      await q.query(`UPDATE ${table} SET version = nextval('row_versions')`);
      await q.query(`CREATE TRIGGER ${table}_version BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION take_row_version()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of VERSIONED) {
      await q.query(`DROP TRIGGER ${table}_version ON ${table}`);
      await q.query(`ALTER TABLE ${table} DROP COLUMN version`);
    }
    await q.query(`DROP FUNCTION take_row_version()`);
    await q.query(`DROP SEQUENCE row_versions`);
  }
}
