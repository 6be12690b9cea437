import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * GitLab's order as far as this service applied it (contracts' gitlabPlaceSchema): the place of
 * the last change applied to each project and membership, and whether it ended it. Kept apart
 * from projects and project_members, so that it outlives them: a destroyed project or a removed
 * membership keeps its tombstone, and a change delivered late (or to the other replica at the
 * same time) that is older is not applied. A renamed or destroyed user keeps one too, so that a
 * change of their memberships from before it, delivered after it, goes to the new name or nowhere.
 */
export class CreateGitLabPlaces1764000000810 implements MigrationInterface {
  name = 'CreateGitLabPlaces1764000000810';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE gitlab_project_places (
        project_id text PRIMARY KEY,
        source_at timestamptz NOT NULL,
        source_rank integer NOT NULL,
        destroyed boolean NOT NULL
      )`);
    await q.query(`
      CREATE TABLE gitlab_member_places (
        project_id text NOT NULL,
        user_id text NOT NULL,
        source_at timestamptz NOT NULL,
        source_rank integer NOT NULL,
        removed boolean NOT NULL,
        PRIMARY KEY (project_id, user_id)
      )`);
    await q.query(`CREATE INDEX gitlab_member_places_user ON gitlab_member_places (user_id)`);
    await q.query(`
      CREATE TABLE gitlab_user_places (
        user_id text PRIMARY KEY,
        source_at timestamptz NOT NULL,
        source_rank integer NOT NULL,
        renamed_to text,
        destroyed boolean NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE gitlab_user_places`);
    await q.query(`DROP TABLE gitlab_member_places`);
    await q.query(`DROP TABLE gitlab_project_places`);
  }
}
