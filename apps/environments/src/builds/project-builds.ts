import { Injectable } from '@nestjs/common';
import type { Build } from '@launchpad/contracts';
import type { Statement } from '@launchpad/persistence';
import type { EntityManager } from 'typeorm';
import { BRANCH_PLACE, ProjectBuildEntity } from './project-build.entity.js';

const COLUMNS = `project_id, sha, ref, tag, default_branch, status, image, pipeline_id, branch_pipeline_id, revision, finished_at, created_at`;
const ON_CONFLICT = `ON CONFLICT (project_id, sha) DO UPDATE SET ref = EXCLUDED.ref, tag = EXCLUDED.tag, default_branch = EXCLUDED.default_branch,
         status = EXCLUDED.status, image = EXCLUDED.image, pipeline_id = EXCLUDED.pipeline_id, branch_pipeline_id = EXCLUDED.branch_pipeline_id,
         revision = EXCLUDED.revision, finished_at = EXCLUDED.finished_at
       WHERE project_builds.revision < EXCLUDED.revision`;
/** Writes a build unless a later revision of it is already known ($1..$12: recordParams). */
const RECORD = `INSERT INTO project_builds (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ${ON_CONFLICT}`;
/** RECORD for each row of `processed` (applyOnceInOneStatement), typed as the columns are. */
const RECORD_FROM_PROCESSED = `INSERT INTO project_builds (${COLUMNS})
       SELECT $1::text, $2::text, $3::text, $4::boolean, $5::text, $6::text, $7::text, $8::bigint, $9::bigint, $10::integer, $11::timestamptz, $12::timestamptz
         FROM processed ${ON_CONFLICT}`;

const recordParams = (build: Build): unknown[] => [
  build.projectId,
  build.sha,
  build.ref,
  build.tag,
  build.defaultBranch,
  build.status,
  build.image,
  build.pipelineId,
  build.branchPipelineId ?? null,
  build.revision,
  build.finishedAt,
  build.createdAt,
];

/**
 * The read model of project builds. Newest on a branch means the highest place on it: the first
 * pipeline GitLab ran for the commit on that branch (pipelines are numbered as pushed), or, while
 * none is known, the pipeline it follows.
 */
@Injectable()
export class ProjectBuilds {
  /** Records a build unless a later revision of it is already known; true when it was recorded. */
  async record(manager: EntityManager, build: Build): Promise<boolean> {
    const rows: unknown[] = await manager.query(`${RECORD} RETURNING sha`, recordParams(build));
    return rows.length > 0;
  }

  /**
   * `record`, and in the same statement whether any launcher is pinned to the build's branch: the
   * only launchers an update can be offered to (LaunchersService.offerUpdate). Read as of this
   * statement, so taken after the project's launcher lock (which every writer of a launcher's pin
   * holds) it sees every launcher there is.
   */
  async recordSeeingPins(manager: EntityManager, build: Build): Promise<{ recorded: boolean; pinned: boolean }> {
    const [row] = (await manager.query(
      `WITH recorded AS (${RECORD} RETURNING sha)
       SELECT EXISTS (SELECT 1 FROM recorded) AS recorded,
              EXISTS (SELECT 1 FROM launchers WHERE project_id = $1 AND pin_ref = $3) AS pinned`,
      recordParams(build),
    )) as { recorded: boolean; pinned: boolean }[];
    return { recorded: row.recorded, pinned: row.pinned && !build.tag && build.ref !== null };
  }

  /** `record` as the effect of applyOnceInOneStatement: the build is written when the message is new. */
  recordStatement(build: Build): Statement {
    return { sql: RECORD_FROM_PROCESSED, params: recordParams(build) };
  }

  private onBranch(manager: EntityManager, projectId: string, ref: string) {
    return manager
      .getRepository(ProjectBuildEntity)
      .createQueryBuilder('b')
      .where('b.project_id = :projectId AND b.ref = :ref AND NOT b.tag', { projectId, ref })
      .orderBy(BRANCH_PLACE('b'), 'DESC', 'NULLS LAST')
      .addOrderBy('b.created_at', 'DESC');
  }

  /** The newest build of a branch: a succeeded one if there is any, else the newest of any status. */
  async newestOnBranch(manager: EntityManager, projectId: string, ref: string): Promise<ProjectBuildEntity | null> {
    return (await this.newestSucceededOnBranch(manager, projectId, ref)) ?? (await this.onBranch(manager, projectId, ref).getOne());
  }

  /** The newest succeeded build of a branch, with a known place on it, if any. */
  async newestSucceededOnBranch(manager: EntityManager, projectId: string, ref: string): Promise<ProjectBuildEntity | null> {
    return this.onBranch(manager, projectId, ref).andWhere(`b.status = 'succeeded' AND ${BRANCH_PLACE('b')} IS NOT NULL`).getOne();
  }

  /** The build of a commit, by its full id or an abbreviation of it (the newest if several match). */
  async byCommit(manager: EntityManager, projectId: string, sha: string): Promise<ProjectBuildEntity | null> {
    return manager
      .getRepository(ProjectBuildEntity)
      .createQueryBuilder('b')
      .where('b.project_id = :projectId AND b.sha LIKE :prefix', { projectId, prefix: `${sha}%` })
      .orderBy('b.pipeline_id', 'DESC', 'NULLS LAST')
      .getOne();
  }

  /** The project's default branch as GitLab last reported it with a build. */
  async defaultBranch(manager: EntityManager, projectId: string): Promise<string | null> {
    const row = await manager
      .getRepository(ProjectBuildEntity)
      .createQueryBuilder('b')
      .where('b.project_id = :projectId AND b.default_branch IS NOT NULL', { projectId })
      .orderBy('b.pipeline_id', 'DESC', 'NULLS LAST')
      .getOne();
    return row?.defaultBranch ?? null;
  }
}
