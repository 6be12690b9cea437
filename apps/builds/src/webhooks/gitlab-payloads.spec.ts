import { parseImageReference } from '@launchpad/contracts';
import { DOC_JOB_EVENT, DOC_PIPELINE_EVENT, DOC_PUSH_EVENT, jobHook, pipelineHook, pushHook } from '../../../../tools/testing/gitlab.js';
import { parseGitLabTime, projectIdOf, readProjectHook } from './gitlab-payloads.js';

// The GitLab of the documented payloads (their project's web_url).
const settings = { registry: 'registry.example.com', jobName: 'build-image', gitlabUrl: 'http://192.168.64.1:3005' };
/** As the payload names it (what a verified delivery of a project we know no path for gets). */
const asSent = (body: { project: { id: number } }) => ({ id: String(body.project.id), path: null });

describe("reading GitLab's documented project hook payloads", () => {
  it('keeps no link that is not on the configured GitLab: a project maintainer cannot plant one', () => {
    const forged = {
      ...DOC_PIPELINE_EVENT,
      object_attributes: { ...DOC_PIPELINE_EVENT.object_attributes, url: 'javascript:alert(1)' },
      project: { ...DOC_PIPELINE_EVENT.project, web_url: 'https://phish.example/gitlab-org/gitlab-test' },
    };
    const meaning = readProjectHook(forged, settings, asSent(forged));
    expect(meaning).toMatchObject({ kind: 'build', observation: { pipelineId: 31, pipelineUrl: null, jobId: 376, jobUrl: null } });
    const job = readProjectHook({ ...DOC_JOB_EVENT, project: { ...DOC_JOB_EVENT.project, web_url: 'https://phish.example/x' } }, { ...settings, jobName: 'test' }, asSent(DOC_JOB_EVENT));
    expect(job).toMatchObject({ kind: 'build', observation: { pipelineUrl: null, jobUrl: null } });
  });

  it('reads the image job out of the documented pipeline event', () => {
    const meaning = readProjectHook(DOC_PIPELINE_EVENT, settings, asSent(DOC_PIPELINE_EVENT));
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
        // The documented pipeline's own url names another host (example.com): the link is made from the project's.
        pipelineUrl: 'http://192.168.64.1:3005/gitlab-org/gitlab-test/-/pipelines/31',
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
    const meaning = readProjectHook(DOC_PIPELINE_EVENT, { ...settings, jobName: 'image_build' }, asSent(DOC_PIPELINE_EVENT));
    expect(meaning).toMatchObject({ kind: 'build', observation: { status: 'failed', jobId: null, failureReason: expect.stringMatching(/without a job named image_build/) } });
  });

  it('reads the documented job event, and ignores jobs other than the image job', () => {
    expect(readProjectHook(DOC_JOB_EVENT, settings, asSent(DOC_JOB_EVENT))).toMatchObject({ kind: 'ignored', reason: expect.stringMatching(/not the image job/) });
    const meaning = readProjectHook(DOC_JOB_EVENT, { ...settings, jobName: 'test' }, asSent(DOC_JOB_EVENT));
    expect(meaning).toMatchObject({
      kind: 'build',
      observation: { projectId: '380', status: 'pending', pipelineId: 2366, jobId: 1977, ref: 'gitlab-script-trigger', failureReason: null },
    });
  });

  it('keeps the failure reason of a failed image job', () => {
    const p = { id: 5, path: 'lab/study' };
    const hook = jobHook(p, { sha: 'a'.repeat(40), pipelineId: 9, jobId: 90, status: 'failed', failure_reason: 'script_failure' });
    expect(readProjectHook(hook, settings, asSent(hook))).toMatchObject({ observation: { status: 'failed', failureReason: 'script_failure' } });
  });

  it('makes a pending build of the head of a documented push, and ignores a branch deletion', () => {
    expect(readProjectHook(DOC_PUSH_EVENT, settings, asSent(DOC_PUSH_EVENT))).toMatchObject({
      kind: 'build',
      observation: { projectId: '15', sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7', ref: 'master', status: 'pending', pipelineId: null },
    });
    const deletion = { ...DOC_PUSH_EVENT, after: '0'.repeat(40), checkout_sha: null };
    expect(readProjectHook(deletion, settings, asSent(deletion))).toMatchObject({ kind: 'ignored' });
  });

  it('ignores events that have nothing to do with builds, and refuses malformed ones', () => {
    expect(readProjectHook({ object_kind: 'issue', project: { id: 1 } }, settings, { id: '1', path: null })).toMatchObject({ kind: 'ignored' });
    const broken = pipelineHook({ id: 1, path: 'g/p' }, { sha: 'not-a-sha', pipelineId: 1, status: 'running' });
    expect(() => readProjectHook(broken, settings, asSent(broken))).toThrow(/full commit id/);
  });

  it('finds the project of a delivery in project.id or project_id', () => {
    expect(projectIdOf(DOC_PIPELINE_EVENT)).toEqual({ kind: 'found', projectId: '1' });
    expect(projectIdOf(DOC_JOB_EVENT)).toEqual({ kind: 'found', projectId: '380' });
    expect(projectIdOf({ project_id: 15 })).toEqual({ kind: 'found', projectId: '15' });
    expect(projectIdOf({ object_kind: 'pipeline' })).toEqual({ kind: 'missing' });
  });

  it('refuses a delivery whose project.id and project_id name different projects, or that names one oddly', () => {
    const mallory = jobHook({ id: 3001, path: 'mallory/tools' }, { sha: 'a'.repeat(40), pipelineId: 9, jobId: 90, status: 'success' });
    expect(projectIdOf({ ...mallory, project_id: 3002 })).toMatchObject({ kind: 'invalid', path: 'project_id', reason: expect.stringMatching(/different projects/) });
    expect(projectIdOf({ project: { id: '3001' } })).toMatchObject({ kind: 'invalid', path: 'project.id' });
    expect(projectIdOf({ project: { id: 3001 }, project_id: -1 })).toMatchObject({ kind: 'invalid', path: 'project_id' });
  });

  it('writes under the verified project and names the image after its known path, whatever the payload says', () => {
    const hook = jobHook({ id: 3001, path: 'victim/secret-project' }, { sha: 'b'.repeat(40), pipelineId: 9, jobId: 90, status: 'success' });
    const meaning = readProjectHook(hook, settings, { id: '3001', path: 'mallory/tools' });
    expect(meaning).toMatchObject({ kind: 'build', image: `registry.example.com/mallory/tools:${'b'.repeat(8)}`, observation: { projectId: '3001', projectPath: 'mallory/tools' } });
    const push = readProjectHook(pushHook({ id: 15, path: 'elsewhere/else' }, { after: 'c'.repeat(40) }), settings, { id: '15', path: 'mike/diaspora' });
    expect(push).toMatchObject({ observation: { projectId: '15', projectPath: 'mike/diaspora' } });
  });

  it("reads GitLab's three ways of writing a time", () => {
    expect(parseGitLabTime('2016-08-12 15:23:28 UTC')?.toISOString()).toBe('2016-08-12T15:23:28.000Z');
    expect(parseGitLabTime('2021-04-28 21:50:00 +0200')?.toISOString()).toBe('2021-04-28T19:50:00.000Z');
    expect(parseGitLabTime('2021-02-23T02:41:37.886Z')?.toISOString()).toBe('2021-02-23T02:41:37.886Z');
    expect(parseGitLabTime(null)).toBeNull();
    expect(parseGitLabTime('yesterday')).toBeNull();
  });
});
