import { parseImageReference } from '@launchpad/contracts';
import { DOC_JOB_EVENT, DOC_PIPELINE_EVENT, DOC_PUSH_EVENT, jobHook, pipelineHook } from '../../../../tools/testing/gitlab.js';
import { parseGitLabTime, projectIdOf, readProjectHook } from './gitlab-payloads.js';

const settings = { registry: 'registry.example.com', jobName: 'build-image' };

describe("reading GitLab's documented project hook payloads", () => {
  it('reads the image job out of the documented pipeline event', () => {
    const meaning = readProjectHook(DOC_PIPELINE_EVENT, settings);
    expect(meaning).toMatchObject({
      kind: 'build',
      image: 'registry.example.com/gitlab-org/gitlab-test:bcbb5ec3',
      observation: {
        projectId: '1',
        sha: 'bcbb5ec396a2c0f828686f14fac9b80b780504f2',
        projectPath: 'gitlab-org/gitlab-test',
        ref: 'master',
        tag: false,
        defaultBranch: 'master',
        status: 'succeeded',
        pipelineId: 31,
        pipelineUrl: 'http://example.com/gitlab-org/gitlab-test/-/pipelines/31',
        jobId: 376,
        jobUrl: 'http://192.168.64.1:3005/gitlab-org/gitlab-test/-/jobs/376',
        failureReason: null,
      },
    });
    if (meaning.kind !== 'build') throw new Error('expected a build');
    expect(meaning.observation.finishedAt?.toISOString()).toBe('2016-08-12T15:25:26.000Z');
    expect(parseImageReference(meaning.image).ok).toBe(true);
  });

  it('fails the build of a finished pipeline that has no image job, saying what to add', () => {
    const meaning = readProjectHook(DOC_PIPELINE_EVENT, { ...settings, jobName: 'image_build' });
    expect(meaning).toMatchObject({ kind: 'build', observation: { status: 'failed', jobId: null, failureReason: expect.stringMatching(/without a job named image_build/) } });
  });

  it('reads the documented job event, and ignores jobs other than the image job', () => {
    expect(readProjectHook(DOC_JOB_EVENT, settings)).toMatchObject({ kind: 'ignored', reason: expect.stringMatching(/not the image job/) });
    const meaning = readProjectHook(DOC_JOB_EVENT, { ...settings, jobName: 'test' });
    expect(meaning).toMatchObject({
      kind: 'build',
      observation: { projectId: '380', status: 'pending', pipelineId: 2366, jobId: 1977, ref: 'gitlab-script-trigger', failureReason: null },
    });
  });

  it('keeps the failure reason of a failed image job', () => {
    const p = { id: 5, path: 'lab/study' };
    const hook = jobHook(p, { sha: 'a'.repeat(40), pipelineId: 9, jobId: 90, status: 'failed', failure_reason: 'script_failure' });
    expect(readProjectHook(hook, settings)).toMatchObject({ observation: { status: 'failed', failureReason: 'script_failure' } });
  });

  it('makes a pending build of the head of a documented push, and ignores a branch deletion', () => {
    expect(readProjectHook(DOC_PUSH_EVENT, settings)).toMatchObject({
      kind: 'build',
      observation: { projectId: '15', sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7', ref: 'master', status: 'pending', pipelineId: null },
    });
    const deletion = { ...DOC_PUSH_EVENT, after: '0'.repeat(40), checkout_sha: null };
    expect(readProjectHook(deletion, settings)).toMatchObject({ kind: 'ignored' });
  });

  it('ignores events that have nothing to do with builds, and refuses malformed ones', () => {
    expect(readProjectHook({ object_kind: 'issue', project: { id: 1 } }, settings)).toMatchObject({ kind: 'ignored' });
    const broken = pipelineHook({ id: 1, path: 'g/p' }, { sha: 'not-a-sha', pipelineId: 1, status: 'running' });
    expect(() => readProjectHook(broken, settings)).toThrow(/full commit id/);
  });

  it('finds the project of a delivery in project.id or project_id', () => {
    expect(projectIdOf(DOC_PIPELINE_EVENT)).toBe('1');
    expect(projectIdOf({ project_id: 15 })).toBe('15');
    expect(projectIdOf({ object_kind: 'pipeline' })).toBeNull();
  });

  it("reads GitLab's three ways of writing a time", () => {
    expect(parseGitLabTime('2016-08-12 15:23:28 UTC')?.toISOString()).toBe('2016-08-12T15:23:28.000Z');
    expect(parseGitLabTime('2021-04-28 21:50:00 +0200')?.toISOString()).toBe('2021-04-28T19:50:00.000Z');
    expect(parseGitLabTime('2021-02-23T02:41:37.886Z')?.toISOString()).toBe('2021-02-23T02:41:37.886Z');
    expect(parseGitLabTime(null)).toBeNull();
    expect(parseGitLabTime('yesterday')).toBeNull();
  });
});
