import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `builds.branch_pipeline_id`: the first pipeline GitLab ran for the commit on its branch, so that
 * a commit's place among its branch's commits does not move when a later pipeline of another ref
 * (a release tag on an old commit) builds its image.
 */
export class AddBranchPipeline1764000001220 implements MigrationInterface {
  name = 'AddBranchPipeline1764000001220';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE builds ADD COLUMN branch_pipeline_id bigint`);
    await q.query(`UPDATE builds SET branch_pipeline_id = pipeline_id WHERE NOT tag AND ref IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE builds DROP COLUMN branch_pipeline_id`);
  }
}
