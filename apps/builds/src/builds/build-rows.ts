import type { Statement } from '@launchpad/persistence';
import type { EntityManager } from 'typeorm';
import type { BuildEntity } from './build.entity.js';

/**
 * The builds table in plain SQL, for the webhook path: TypeORM's query builder (findOneBy,
 * insert, update) cost more CPU than the statements themselves. Every column, in
 * BuildEntity's names and types (bigint ids as numbers, timestamps as Dates).
 */
const COLUMNS = [
  ['project_id', 'projectId'],
  ['sha', 'sha'],
  ['ref', 'ref'],
  ['tag', 'tag'],
  ['project_path', 'projectPath'],
  ['default_branch', 'defaultBranch'],
  ['status', 'status'],
  ['image', 'image'],
  ['pipeline_id', 'pipelineId'],
  ['branch_pipeline_id', 'branchPipelineId'],
  ['pipeline_url', 'pipelineUrl'],
  ['job_id', 'jobId'],
  ['job_url', 'jobUrl'],
  ['failure_reason', 'failureReason'],
  ['revision', 'revision'],
  ['created_at', 'createdAt'],
  ['updated_at', 'updatedAt'],
  ['started_at', 'startedAt'],
  ['finished_at', 'finishedAt'],
  ['checked_at', 'checkedAt'],
  ['repair_attempts', 'repairAttempts'],
] as const satisfies readonly (readonly [string, keyof BuildEntity])[];

type Row = Record<(typeof COLUMNS)[number][0], unknown>;
const KEYS = new Set<string>(['project_id', 'sha']);
const BIGINTS = new Set<string>(['pipeline_id', 'branch_pipeline_id', 'job_id']);
const SELECT = `SELECT ${COLUMNS.map(([c]) => c).join(', ')} FROM builds WHERE project_id = $1 AND sha = $2`;
const INSERT = `INSERT INTO builds (${COLUMNS.map(([c]) => c).join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;
const UPDATE = `UPDATE builds SET ${COLUMNS.filter(([c]) => !KEYS.has(c))
  .map(([c]) => c)
  .map((c, i) => `${c} = $${i + 3}`)
  .join(', ')} WHERE project_id = $1 AND sha = $2`;

function fromRow(row: Row): BuildEntity {
  const build: Record<string, unknown> = {};
  // pg answers bigint as a string; GitLab ids fit in a double (as BuildEntity's transformer says).
  for (const [column, field] of COLUMNS) build[field] = BIGINTS.has(column) && row[column] !== null ? Number(row[column]) : row[column];
  return build as unknown as BuildEntity;
}

/** The commit's record, or null. */
export async function readBuild(manager: EntityManager, projectId: string, sha: string): Promise<BuildEntity | null> {
  const rows: Row[] = await manager.query(SELECT, [projectId, sha]);
  return rows.length === 0 ? null : fromRow(rows[0]);
}

/**
 * For a statement that reads the commit's record after taking its lock: `LEFT JOIN LATERAL
 * ${buildOfCommitSql('$5', '$6')} ON true` adds the record's columns (each prefixed `build_`; all
 * null when there is none), read as of when the join runs (build_of_commit: a snapshot of its own).
 */
export const buildOfCommitSql = (projectParam: string, shaParam: string): string =>
  `(SELECT ${COLUMNS.map(([c]) => `${c} AS build_${c}`).join(', ')} FROM build_of_commit(${projectParam}, ${shaParam})) b`;

/** The record a buildOfCommitSql join read, or null. */
export function buildOfCommitRow(row: Record<string, unknown>): BuildEntity | null {
  if (row.build_project_id === null || row.build_project_id === undefined) return null;
  return fromRow(Object.fromEntries(COLUMNS.map(([c]) => [c, row[`build_${c}`]])) as Row);
}

/** Writes the record as it is, every column: an INSERT for a new one, an UPDATE of the one read under the lock otherwise. */
export function writeBuild(build: BuildEntity, isNew: boolean): Statement {
  if (isNew) return { sql: INSERT, params: COLUMNS.map(([, field]) => build[field]) };
  return { sql: UPDATE, params: [build.projectId, build.sha, ...COLUMNS.filter(([c]) => !KEYS.has(c)).map(([, field]) => build[field])] };
}
