import { branchOrTag, buildStatusOfJob, imageFor, placement, type Position, supersedes } from './build-status.js';

const at = (status: Position['status'], pipelineId: number | null, jobId: number | null): Position => ({ status, pipelineId, jobId });

describe('build status ordering', () => {
  it('a late running event does not undo succeeded', () => {
    expect(supersedes(at('succeeded', 7, 70), at('running', 7, 70))).toBe(false);
    expect(supersedes(at('succeeded', 7, 70), at('pending', 7, 70))).toBe(false);
  });

  it('moves the same job forward only: pending < running < terminal, terminal is final', () => {
    expect(supersedes(at('pending', 7, 70), at('running', 7, 70))).toBe(true);
    expect(supersedes(at('running', 7, 70), at('failed', 7, 70))).toBe(true);
    expect(supersedes(at('running', 7, 70), at('running', 7, 70))).toBe(false);
    expect(supersedes(at('failed', 7, 70), at('succeeded', 7, 70))).toBe(false);
  });

  it('a retried job (newer job id) may go failed -> running -> succeeded again; the old job is stale', () => {
    expect(supersedes(at('failed', 7, 70), at('running', 7, 71))).toBe(true);
    expect(supersedes(at('running', 7, 71), at('failed', 7, 70))).toBe(false);
  });

  it('a newer pipeline with the image job wins over an unfinished or failed one; an older one is stale', () => {
    expect(supersedes(at('failed', 7, 70), at('pending', 8, 80))).toBe(true);
    expect(supersedes(at('pending', 8, 80), at('failed', 7, 70))).toBe(false);
    expect(supersedes(at('running', 8, 80), at('running', 7, 70))).toBe(false);
  });

  it('a succeeded build is final: no later pipeline of the commit, with or without the image job, changes it', () => {
    expect(supersedes(at('succeeded', 10, 100), at('failed', 11, null))).toBe(false);
    expect(supersedes(at('succeeded', 10, 100), at('pending', 11, null))).toBe(false);
    expect(supersedes(at('succeeded', 10, 100), at('pending', 11, 110))).toBe(false);
    expect(supersedes(at('succeeded', 10, 100), at('failed', 11, 110))).toBe(false);
  });

  it('a pipeline without the image job (tag, merge request, scheduled) never supersedes a build that has it', () => {
    expect(supersedes(at('running', 10, 100), at('failed', 11, null))).toBe(false);
    expect(supersedes(at('failed', 10, 100), at('failed', 11, null))).toBe(false);
    expect(supersedes(at('pending', 10, 100), at('pending', 12, null))).toBe(false);
  });

  it('the image job, in any pipeline, supersedes what pipelines without it said', () => {
    expect(supersedes(at('failed', 11, null), at('pending', 10, 100))).toBe(true);
    expect(supersedes(at('pending', 11, null), at('running', 12, 120))).toBe(true);
    // Between pipelines without it, the newer one speaks.
    expect(supersedes(at('pending', 10, null), at('failed', 11, null))).toBe(true);
    expect(supersedes(at('failed', 11, null), at('failed', 10, null))).toBe(false);
  });

  it('the image job succeeding in any pipeline makes the build succeeded: the image exists', () => {
    expect(supersedes(at('pending', 11, 110), at('succeeded', 10, 100))).toBe(true);
    expect(supersedes(at('failed', 11, 110), at('succeeded', 10, 100))).toBe(true);
  });

  it('a pipeline beats the push that announced the commit; a repeated push changes nothing', () => {
    expect(supersedes(null, at('pending', null, null))).toBe(true);
    expect(supersedes(at('pending', null, null), at('pending', 7, null))).toBe(true);
    expect(supersedes(at('pending', null, null), at('pending', null, null))).toBe(false);
    expect(supersedes(at('running', 7, 70), at('pending', null, null))).toBe(false);
  });

  it('the job itself beats what the pipeline said without it', () => {
    expect(supersedes(at('failed', 7, null), at('succeeded', 7, 70))).toBe(true);
  });
});

describe('where a commit stands on its branch', () => {
  const on = (ref: string | null, pipelineId: number | null, tag = false) => ({ ref, tag, pipelineId });

  it('is bound to the branch it is first seen on; tags, merge requests and other branches do not move it', () => {
    const pushed = placement(null, on('main', null));
    expect(pushed).toEqual({ ref: 'main', tag: false, branchPipelineId: null });
    const built = placement(pushed, on('main', 10));
    expect(built).toEqual({ ref: 'main', tag: false, branchPipelineId: 10 });
    expect(placement(built, on('v1.0', 11, true))).toEqual(built);
    expect(placement(built, on(null, 12))).toEqual(built);
    expect(placement(built, on('feature', 13))).toEqual(built);
  });

  it("stands at its first pipeline on the branch, whichever pipeline built its image", () => {
    expect(placement({ ref: 'main', tag: false, branchPipelineId: 10 }, on('main', 14))).toEqual({ ref: 'main', tag: false, branchPipelineId: 10 });
    expect(placement({ ref: 'main', tag: false, branchPipelineId: 14 }, on('main', 10))).toEqual({ ref: 'main', tag: false, branchPipelineId: 10 });
  });

  it('a commit known only by its tag moves to the first branch that names it', () => {
    const tagged = placement(null, on('v2.0', 20, true));
    expect(tagged).toEqual({ ref: 'v2.0', tag: true, branchPipelineId: null });
    expect(placement(tagged, on('release', 21))).toEqual({ ref: 'release', tag: false, branchPipelineId: 21 });
    expect(placement(tagged, on('release', null))).toEqual({ ref: 'release', tag: false, branchPipelineId: null });
  });

  it("a merge request pipeline's ref is no branch", () => {
    expect(branchOrTag('refs/merge-requests/7/head')).toBeNull();
    expect(branchOrTag('main')).toBe('main');
    expect(branchOrTag(null)).toBeNull();
  });
});

describe('GitLab job statuses', () => {
  it.each([
    ['created', 'pending'],
    ['waiting_for_resource', 'pending'],
    ['preparing', 'pending'],
    ['pending', 'pending'],
    ['scheduled', 'pending'],
    ['manual', 'pending'],
    ['running', 'running'],
    ['canceling', 'running'],
    ['success', 'succeeded'],
    ['failed', 'failed'],
    ['canceled', 'canceled'],
    ['skipped', 'failed'],
  ])('%s is %s', (gitlab, ours) => {
    expect(buildStatusOfJob(gitlab, null)?.status).toBe(ours);
  });

  it("keeps GitLab's failure reason, and refuses to guess an unknown status", () => {
    expect(buildStatusOfJob('failed', 'script_failure')).toEqual({ status: 'failed', failureReason: 'script_failure' });
    expect(buildStatusOfJob('success', 'script_failure')).toEqual({ status: 'succeeded', failureReason: null });
    expect(buildStatusOfJob('teleporting', null)).toBeNull();
  });
});

describe('image names', () => {
  it('is <registry>/<project path>:<short sha>, lowercase as registries want', () => {
    expect(imageFor('registry.example.com', 'Lab/Study', 'bcbb5ec396a2c0f828686f14fac9b80b780504f2')).toBe('registry.example.com/lab/study:bcbb5ec3');
    expect(imageFor('localhost:5000/ci/', 'g/p', '0123456789abcdef0123456789abcdef01234567')).toBe('localhost:5000/ci/g/p:01234567');
  });
});
