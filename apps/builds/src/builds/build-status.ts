import type { BuildStatus } from '@launchpad/contracts';

/** What one webhook delivery or one look at GitLab's API says about the image job of a commit. */
export interface Observation {
  projectId: string;
  sha: string;
  projectPath: string;
  ref: string | null;
  tag: boolean;
  defaultBranch: string | null;
  status: BuildStatus;
  /** Null only for what a push says (no pipeline yet) or what the repair loop found without one. */
  pipelineId: number | null;
  pipelineUrl: string | null;
  /** Null when the pipeline has no image job (or the observation is about the pipeline only). */
  jobId: number | null;
  jobUrl: string | null;
  failureReason: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** The part of a build record that decides whether an observation is newer. */
export interface Position {
  status: BuildStatus;
  pipelineId: number | null;
  jobId: number | null;
}

const RANK: Record<BuildStatus, number> = { pending: 0, running: 1, succeeded: 2, failed: 2, canceled: 2 };

export const isTerminal = (status: BuildStatus): boolean => RANK[status] === 2;

/**
 * Whether an observation moves a build forward. GitLab delivers hooks late, twice and out of order,
 * and runs several pipelines for one commit (a branch pipeline, merge request pipelines that only
 * test, a tag pipeline, scheduled ones, a new branch made from the commit), so:
 *   - `succeeded` is final: the image with that tag exists, whatever another pipeline says later;
 *     and the image job succeeding in any pipeline makes the build succeeded;
 *   - a pipeline without the image job never supersedes a build that has it (in any pipeline),
 *     and the image job, in any pipeline, supersedes what pipelines without it said;
 *   - otherwise a newer pipeline wins, an older one is stale; a pipeline beats the push that
 *     announced it (and a record without a pipeline only moves forward);
 *   - within a pipeline a newer job wins (a retry may go failed -> running -> succeeded again),
 *     an older job is stale;
 *   - for the same job the status only moves forward: pending < running < terminal, and a
 *     terminal status is final (a late `running` never undoes `succeeded`).
 */
export function supersedes(current: Position | null, next: Position): boolean {
  if (current === null) return true;
  if (current.status === 'succeeded') return false;
  // The image job succeeded (in this pipeline or another): the image exists. (For the job we already
  // hold, GitLab cannot report success after a terminal status: that is ordering, handled below.)
  if (next.status === 'succeeded' && next.jobId !== null && next.jobId !== current.jobId) return true;
  // No pipeline (a push, or the repair loop finding none): only ever over another such record.
  if (next.pipelineId === null) return current.pipelineId === null && RANK[next.status] > RANK[current.status];
  if (current.pipelineId === null) return true;
  const nextHasJob = next.jobId !== null;
  const currentHasJob = current.jobId !== null;
  if (nextHasJob !== currentHasJob) return nextHasJob;
  if (next.pipelineId !== current.pipelineId) return next.pipelineId > current.pipelineId;
  if (next.jobId !== null && current.jobId !== null && next.jobId !== current.jobId) return next.jobId > current.jobId;
  return RANK[next.status] > RANK[current.status];
}

/** Where a commit stands among its branch's commits. */
export interface Placement {
  /** Its branch (or, until a branch is known, the tag it was built for). */
  ref: string | null;
  tag: boolean;
  /** The first pipeline GitLab ran for it on that branch. */
  branchPipelineId: number | null;
}

/**
 * Where a commit stands once an observation is taken into account — whether or not the
 * observation moves the image job's state. A commit stays on the branch it was first seen on (a
 * tag pipeline, a merge request pipeline or a new branch made from it must not move it off:
 * launchers follow branches); until a branch is known, a tag stands in. Its place on the branch
 * is the first pipeline of that branch, so a later pipeline of another ref that builds its image
 * (a release tag on an old commit) does not make it look newer than the commits after it.
 */
export function placement(current: Placement | null, o: Pick<Observation, 'ref' | 'tag' | 'pipelineId'>): Placement {
  const bound = current !== null && current.ref !== null && !current.tag;
  const ref = bound ? current.ref : (o.ref ?? current?.ref ?? null);
  const tag = bound ? false : o.ref !== null ? o.tag : (current?.tag ?? false);
  let branchPipelineId = current !== null && current.ref === ref && current.tag === tag ? current.branchPipelineId : null;
  if (!tag && ref !== null && o.ref === ref && !o.tag && o.pipelineId !== null) {
    branchPipelineId = branchPipelineId === null ? o.pipelineId : Math.min(branchPipelineId, o.pipelineId);
  }
  return { ref, tag, branchPipelineId };
}

/**
 * GitLab's job statuses (`created`, `waiting_for_resource`, `preparing`, `pending`, `scheduled`,
 * `manual`, `running`, `canceling`, `success`, `failed`, `canceled`, `skipped`) in our words, or null
 * for a status GitLab may add later (the observation is then ignored, not guessed at).
 */
export function buildStatusOfJob(gitlabStatus: string, gitlabFailureReason: string | null | undefined): { status: BuildStatus; failureReason: string | null } | null {
  switch (gitlabStatus) {
    case 'created':
    case 'waiting_for_resource':
    case 'preparing':
    case 'pending':
    case 'scheduled':
    case 'manual':
      return { status: 'pending', failureReason: null };
    case 'running':
    case 'canceling':
      return { status: 'running', failureReason: null };
    case 'success':
      return { status: 'succeeded', failureReason: null };
    case 'failed':
      return { status: 'failed', failureReason: gitlabFailureReason || 'unknown_failure' };
    case 'canceled':
      return { status: 'canceled', failureReason: 'the image job was canceled' };
    case 'skipped':
      return { status: 'failed', failureReason: 'the image job was skipped (an earlier job failed, or its rules left it out)' };
    default:
      return null;
  }
}

/** GitLab's pipeline statuses that mean no job of it will run any more. */
export function isFinishedPipeline(gitlabStatus: string): boolean {
  return ['success', 'failed', 'canceled', 'skipped'].includes(gitlabStatus);
}

/** Why a finished pipeline without the image job gives no image. */
export function noImageJobReason(pipelineId: number, pipelineStatus: string, jobName: string): string {
  return `pipeline ${pipelineId} finished (${pipelineStatus}) without a job named ${jobName}: add one to .gitlab-ci.yml that builds and pushes the image`;
}

/**
 * The branch or tag a pipeline ran for, or null when it ran for something else: a merge request
 * pipeline runs for `refs/merge-requests/<iid>/head` (or `/merge`, a merge commit on no branch),
 * which must not become the commit's branch.
 */
export function branchOrTag(ref: string | null | undefined): string | null {
  return ref && !ref.startsWith('refs/') ? ref : null;
}

/** `<registry>/<project path>:<short sha>`: what the image job pushes (registries want lowercase paths). */
export function imageFor(registry: string, projectPath: string, sha: string): string {
  return `${registry.replace(/\/+$/, '')}/${projectPath.toLowerCase()}:${sha.slice(0, 8)}`;
}
