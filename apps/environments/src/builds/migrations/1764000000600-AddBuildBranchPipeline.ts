import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `project_builds.branch_pipeline_id` (the builds service's `branchPipelineId`): where a commit
 * stands among its branch's commits, whichever pipeline built its image. Builds known before it
 * fall back to their pipeline id.
 */
export class AddBuildBranchPipeline1764000000600 implements MigrationInterface {
  name = 'AddBuildBranchPipeline1764000000600';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE project_builds ADD COLUMN branch_pipeline_id bigint`);
    await q.query(`CREATE INDEX project_builds_branch_place ON project_builds (project_id, ref, (coalesce(branch_pipeline_id, pipeline_id)) DESC NULLS LAST)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX project_builds_branch_place`);
    await q.query(`ALTER TABLE project_builds DROP COLUMN branch_pipeline_id`);
  }
}
