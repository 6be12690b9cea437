import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { randomBytes, randomUUID } from 'node:crypto';
import { waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { readStream } from '../tools/testing/streams.js';
import { type GitLabStandIn, jobHook, pushHook, startGitLabStandIn } from '../tools/testing/gitlab.js';

const SECRET = 'project-2002-webhook-secret';
const API_TOKEN = 'glpat-repair-loop-token';
const project = { id: 2002, path: 'lab/repair' };
const sha = () => randomBytes(20).toString('hex');

/** Lost webhooks: the repair loop asks the GitLab stand-in (GitLab's documented REST shapes) about builds that stayed unfinished. */
describe('the repair loop finds what webhooks never said', () => {
  let p: TestPlatform;
  let gitlab: GitLabStandIn;
  let nc: NatsConnection;
  let admin: string;

  const deliver = (body: unknown, event: string, secret = SECRET) =>
    call(`${p.api}/webhooks/gitlab`, { method: 'POST', body, headers: { 'x-gitlab-event': event, 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': secret } });
  const build = async (commit: string, of = project) => (await call(`${p.api}/projects/${of.id}/builds?sha=${commit}`, { token: admin })).body.items[0];
  const settled = (commit: string, status: string) =>
    waitFor(`build ${commit.slice(0, 8)} to be ${status}`, async () => {
      const b = await build(commit);
      return b?.status === status ? b : undefined;
    }, 15_000);
  /** Another project with its own webhook secret. */
  const anotherProject = async (id: number, path: string) => {
    await call(`${p.api}/projects/${id}`, { method: 'PUT', token: admin, body: { path, name: path, visibility: 'internal' } });
    expect((await call(`${p.api}/projects/${id}/webhook-secret`, { method: 'PUT', token: admin, body: { secret: `project-${id}-webhook-secret` } })).status).toBe(200);
    return { id, path, secret: `project-${id}-webhook-secret` };
  };
  const pipelines = () => gitlab.pipelines.get(project.id)!;

  beforeAll(async () => {
    gitlab = await startGitLabStandIn(API_TOKEN);
    gitlab.pipelines.set(project.id, []);
    p = await startPlatform(
      {
        builds: {
          GITLAB_URL: gitlab.url,
          GITLAB_API_TOKEN: API_TOKEN,
          BUILD_JOB_NAME: 'image_build',
          BUILD_REGISTRY: 'registry.test',
          BUILD_REPAIR_AFTER_MS: '400',
          BUILD_REPAIR_INTERVAL_MS: '200',
        },
      },
      { services: ['builds'] },
    );
    nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    admin = await p.token('root', true);
    await call(`${p.api}/projects/${project.id}`, { method: 'PUT', token: admin, body: { path: project.path, name: 'Repair', visibility: 'internal' } });
    expect((await call(`${p.api}/projects/${project.id}/webhook-secret`, { method: 'PUT', token: admin, body: { secret: SECRET } })).status).toBe(200);
  });

  afterAll(async () => {
    await nc?.close();
    await p?.stop();
    await gitlab?.close();
  });

  it('a build announced only by its push is found succeeded in GitLab, and announced', async () => {
    const commit = sha();
    pipelines().push({ id: 301, sha: commit, ref: 'main', status: 'success', jobs: [{ id: 3011, name: 'test', status: 'success' }, { id: 3012, name: 'image_build', status: 'success' }] });
    expect((await deliver(pushHook(project, { after: commit }), 'Push Hook')).body.outcome).toBe('applied');
    const repaired = await settled(commit, 'succeeded');
    expect(repaired).toMatchObject({ pipelineId: 301, jobId: 3012, jobUrl: `${gitlab.url}/project-${project.id}/-/jobs/3012`, image: `registry.test/${project.path}:${commit.slice(0, 8)}` });
    expect(gitlab.requests).toEqual(expect.arrayContaining([`GET /api/v4/projects/${project.id}/pipelines?sha=${commit}&order_by=id&sort=desc&per_page=20`]));
    const events = await waitFor('two events', async () => {
      const found = (await readStream(nc, 'BUILDS', 'builds.build.>')).filter((e) => e.data.data.sha === commit);
      return found.length >= 2 ? found : undefined;
    });
    expect(events.map((e) => e.subject)).toEqual(['builds.build.pending', 'builds.build.succeeded']);
  });

  it('a running build whose image job GitLab retried and finished is caught up (newest job wins)', async () => {
    const commit = sha();
    await deliver(jobHook(project, { sha: commit, pipelineId: 302, jobId: 3021, status: 'running', name: 'image_build' }), 'Job Hook');
    pipelines().push({
      id: 302,
      sha: commit,
      ref: 'main',
      status: 'success',
      jobs: [
        { id: 3021, name: 'image_build', status: 'failed', failure_reason: 'runner_system_failure' },
        { id: 3022, name: 'image_build', status: 'success' },
      ],
    });
    expect(await settled(commit, 'succeeded')).toMatchObject({ jobId: 3022, failureReason: null });
  });

  it('a commit GitLab ran no pipeline for fails with a reason a person can act on', async () => {
    const commit = sha();
    await deliver(pushHook(project, { after: commit }), 'Push Hook');
    expect((await settled(commit, 'failed')).failureReason).toMatch(/GitLab ran no pipeline for commit .* is CI configured/);
  });

  it('a project whose GitLab answers an HTML page (a sign-in proxy) does not keep other builds from being repaired', async () => {
    const odd = await anotherProject(2003, 'lab/behind-proxy');
    gitlab.html.add(odd.id);
    const [stuck, fine] = [sha(), sha()];
    await deliver(pushHook(odd, { after: stuck }), 'Push Hook', odd.secret);
    await waitFor('the repair loop to ask about the proxied project', async () => gitlab.requests.some((r) => r.includes(stuck)));
    pipelines().push({ id: 305, sha: fine, ref: 'main', status: 'success', jobs: [{ id: 3051, name: 'image_build', status: 'success' }] });
    await deliver(pushHook(project, { after: fine }), 'Push Hook');
    await settled(fine, 'succeeded');
    expect((await build(stuck, odd)).status).toBe('pending');
    expect(p.services.builds!.logs()).toMatch(/cannot repair build .* something other than JSON \(text\/html/);
  });

  it('never sends the API token on to where GitLab redirects', async () => {
    const elsewhere = await startGitLabStandIn('another-token');
    try {
      const moved = await anotherProject(2004, 'lab/moved');
      gitlab.redirects.set(moved.id, elsewhere.url);
      const commit = sha();
      await deliver(pushHook(moved, { after: commit }), 'Push Hook', moved.secret);
      await waitFor('the repair loop to meet the redirect', async () => /answered 302 .* not followed/.test(p.services.builds!.logs()));
      expect(elsewhere.tokens).not.toContain(API_TOKEN);
      expect(elsewhere.requests).toEqual([]);
      expect((await build(commit, moved)).status).toBe('pending');
    } finally {
      await elsewhere.close();
    }
  });

  it('keeps running while GitLab is down, and repairs once it is back', async () => {
    const commit = sha();
    gitlab.down = true;
    const before = gitlab.requests.length;
    pipelines().push({ id: 303, sha: commit, ref: 'main', status: 'success', jobs: [{ id: 3031, name: 'image_build', status: 'success' }] });
    await deliver(pushHook(project, { after: commit }), 'Push Hook');
    await waitFor('the repair loop to try GitLab and fail', async () => gitlab.requests.slice(before).some((r) => r.includes(commit)));
    await waitFor('a second try', async () => gitlab.requests.slice(before).filter((r) => r.includes(commit)).length >= 2);
    expect((await build(commit)).status).toBe('pending');
    expect((await fetch(`${p.services.builds!.url}/readyz`)).status).toBe(200);
    expect(p.services.builds!.logs()).toMatch(/repair pass failed.*GitLab answered 502/);
    gitlab.down = false;
    await settled(commit, 'succeeded');
  });
});
