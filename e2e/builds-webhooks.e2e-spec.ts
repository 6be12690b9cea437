import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { randomBytes, randomUUID } from 'node:crypto';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { readStream } from '../tools/testing/streams.js';
import { waitFor } from '../tools/testing/harness.js';
import { DOC_GROUP_HOOKS, DOC_PIPELINE_EVENT, GROUP_HOOK_EVENTS, jobHook, mergeRequestPipelineHook, pipelineHook, pushHook, scheduledPipelineHook, tagPipelineHook } from '../tools/testing/gitlab.js';

const SECRET = 'project-1001-webhook-secret';
const project = { id: 1001, path: 'lab/imaging' };
const sha = () => randomBytes(20).toString('hex');

/** Deterministic shuffle (a small LCG), so a failure can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** GitLab webhooks delivered through the gateway into the builds service, as GitLab would send them. */
describe('GitLab webhooks become build records and events', () => {
  let p: TestPlatform;
  let nc: NatsConnection;
  let admin: string, maintainer: string, dev: string, stranger: string;

  const deliver = (body: unknown, o: { event?: string; token?: string | null; uuid?: string; idempotencyKey?: string } = {}) =>
    call(`${p.api}/webhooks/gitlab`, {
      method: 'POST',
      body,
      headers: {
        'x-gitlab-event': o.event ?? 'Pipeline Hook',
        'x-gitlab-event-uuid': o.uuid ?? randomUUID(),
        ...(o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : {}),
        ...(o.token === null ? {} : { 'x-gitlab-token': o.token ?? SECRET }),
      },
    });
  const builds = async (commit: string, of: { id: number } = project) => (await call(`${p.api}/projects/${of.id}/builds?sha=${commit}`, { token: admin })).body.items;
  const allEvents = async (commit: string) => (await readStream(nc, 'BUILDS', 'builds.build.>')).filter((e) => e.data.data.sha === commit);
  /** The status events (builds.build.<status>), without builds.build.updated. */
  const events = async (commit: string) => (await allEvents(commit)).filter((e) => e.subject !== 'builds.build.updated');

  beforeAll(async () => {
    p = await startPlatform({ builds: { BUILD_JOB_NAME: 'build-image', BUILD_REGISTRY: 'registry.test', GITLAB_URL: 'https://gitlab.test' } }, { services: ['builds'] });
    nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    [admin, maintainer, dev, stranger] = await Promise.all([p.token('root', true), p.token('mia'), p.token('dev'), p.token('nora')]);
    expect((await call(`${p.api}/projects/${project.id}`, { method: 'PUT', token: admin, body: { path: project.path, name: 'Imaging', visibility: 'private' } })).status).toBe(200);
    for (const [user, role] of [['mia', 'maintainer'], ['dev', 'developer']]) {
      expect((await call(`${p.api}/projects/${project.id}/members/${user}`, { method: 'PUT', token: admin, body: { role } })).status).toBe(200);
    }
  });

  afterAll(async () => {
    await nc?.close();
    await p?.stop();
  });

  it("lets maintainers (not developers) set a project's webhook secret, which must be long enough", async () => {
    const byDev = await call(`${p.api}/projects/${project.id}/webhook-secret`, { method: 'PUT', token: dev, body: { secret: SECRET } });
    expect(byDev.status).toBe(403);
    expect(byDev.body.code).toBe('WEBHOOK_SECRET_FORBIDDEN');
    const hidden = await call(`${p.api}/projects/${project.id}/webhook-secret`, { method: 'PUT', token: stranger, body: { secret: SECRET } });
    expect(hidden.status).toBe(404);
    const short = await call(`${p.api}/projects/${project.id}/webhook-secret`, { method: 'PUT', token: maintainer, body: { secret: 'short' } });
    expect(short.status).toBe(400);
    expect(short.body.detail).toMatch(/at least 16 characters/);
    const set = await call(`${p.api}/projects/${project.id}/webhook-secret`, { method: 'PUT', token: maintainer, body: { secret: SECRET } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ projectId: String(project.id), updatedBy: 'mia' });
    expect(JSON.stringify(set.body)).not.toContain(SECRET);
  });

  it('answers 401 to a wrong or missing token, and to a project without a secret, in the same words, and changes nothing', async () => {
    const commit = sha();
    const hook = pipelineHook(project, { sha: commit, pipelineId: 50, status: 'running', imageJob: { id: 500, status: 'running' } });
    const answers = [];
    for (const token of ['wrong-token-wrong-token', null]) {
      const res = await deliver(hook, { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.body.code).toBe('WEBHOOK_TOKEN_INVALID');
      answers.push(res.body.detail);
    }
    // A project that has no secret here is not told apart from a wrong secret (no project enumeration).
    const other = await deliver(pipelineHook({ id: 999, path: 'x/y' }, { sha: commit, pipelineId: 50, status: 'running' }));
    expect(other.status).toBe(401);
    answers.push(other.body.detail);
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).not.toMatch(/999|1001/);
    expect(await builds(commit)).toEqual([]);
    expect(await allEvents(commit)).toEqual([]);
  });

  it("refuses (422) a delivery whose project.id and project_id disagree: one project's secret never writes another's builds", async () => {
    const victim = { id: 3002, path: 'lab/victim' };
    await call(`${p.api}/projects/${victim.id}`, { method: 'PUT', token: admin, body: { path: victim.path, name: 'Victim', visibility: 'private' } });
    expect((await call(`${p.api}/projects/${victim.id}/webhook-secret`, { method: 'PUT', token: admin, body: { secret: 'project-3002-webhook-secret' } })).status).toBe(200);
    const commit = sha();
    // Signed with project 1001's secret, about project 1001 in `project`, but 3002 in `project_id`.
    const forged = { ...jobHook({ id: project.id, path: 'mallory/tools' }, { sha: commit, pipelineId: 40, jobId: 400, status: 'success' }), project_id: victim.id };
    const res = await deliver(forged, { event: 'Job Hook' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'WEBHOOK_PAYLOAD_INVALID', detail: expect.stringMatching(/project\.id and project_id name different projects/) });
    expect(await builds(commit, victim)).toEqual([]);
    expect(await builds(commit)).toEqual([]);
    expect(await allEvents(commit)).toEqual([]);
  });

  it("names the image after the path of the project the secret belongs to, not the payload's", async () => {
    const commit = sha();
    const res = await deliver(jobHook({ id: project.id, path: 'lab/victim' }, { sha: commit, pipelineId: 41, jobId: 410, status: 'success' }), { event: 'Job Hook' });
    expect(res.body.outcome).toBe('applied');
    const [build] = await builds(commit);
    expect(build).toMatchObject({ projectId: String(project.id), projectPath: project.path, image: `registry.test/${project.path}:${commit.slice(0, 8)}` });
  });

  it('answers 200 "ignored", without a token and in the same words, to group hooks and other kinds that cannot change a build', async () => {
    const answers = [];
    for (const name of Object.keys(DOC_GROUP_HOOKS) as (keyof typeof DOC_GROUP_HOOKS)[]) {
      const res = await deliver(DOC_GROUP_HOOKS[name], { event: GROUP_HOOK_EVENTS[name], token: null });
      expect([name, res.status, res.body.outcome]).toEqual([name, 200, 'ignored']);
      answers.push(res.body.detail);
    }
    const issue = await deliver({ object_kind: 'issue', project: { id: 424242 } }, { event: 'Issue Hook', token: 'not-a-secret-of-anyone' });
    expect([issue.status, issue.body.outcome]).toEqual([200, 'ignored']);
    answers.push(issue.body.detail);
    expect(new Set(answers).size).toBe(1);
  });

  it('takes a pipeline hook of 400 jobs (over the 256 KiB API body limit) and reads its image job', async () => {
    const commit = sha();
    const hook = pipelineHook(project, { sha: commit, pipelineId: 45, status: 'running', imageJob: { id: 450, status: 'running' }, extraJobs: 400 });
    expect(JSON.stringify(hook).length).toBeGreaterThan(256 * 1024);
    const res = await deliver(hook);
    expect([res.status, res.body.outcome]).toEqual([200, 'applied']);
    expect((await builds(commit))[0]).toMatchObject({ status: 'running', pipelineId: 45, jobId: 450 });
  });

  it('keys deliveries on Idempotency-Key when GitLab sends one (a resend keeps it, with a new X-Gitlab-Event-UUID)', async () => {
    const commit = sha();
    const body = jobHook(project, { sha: commit, pipelineId: 46, jobId: 460, status: 'running' });
    const key = randomUUID();
    const first = await deliver(body, { event: 'Job Hook', idempotencyKey: key, uuid: randomUUID() });
    const resent = await deliver(body, { event: 'Job Hook', idempotencyKey: key, uuid: randomUUID() });
    expect([first.body.outcome, resent.body.outcome]).toEqual(['applied', 'duplicate']);
  });

  it("labels the deliveries metric with GitLab's event names only: any other X-Gitlab-Event counts as other", async () => {
    for (const event of ['Totally Made Up Hook 1', 'Totally Made Up Hook 2']) {
      await deliver({ object_kind: 'nothing' }, { event, token: null });
      await deliver(pipelineHook(project, { sha: sha(), pipelineId: 47, status: 'running' }), { event, token: 'wrong-token-wrong-token' });
    }
    const metrics = await (await fetch(`${p.services.builds!.url}/metrics`)).text();
    const labels = new Set([...metrics.matchAll(/launchpad_gitlab_webhook_deliveries_total\{[^}]*event="([^"]*)"/g)].map((m) => m[1]));
    expect(labels.has('other')).toBe(true);
    expect([...labels].filter((l) => !['Push Hook', 'Pipeline Hook', 'Job Hook', 'System Hook', 'other'].includes(l!))).toEqual([]);
  });

  it('refuses malformed deliveries with 4xx problem+json and ignores well-formed irrelevant ones with 200', async () => {
    const notJson = await call(`${p.api}/webhooks/gitlab`, { method: 'POST', rawBody: '{"object_kind":', headers: { 'content-type': 'application/json', 'x-gitlab-token': SECRET } });
    expect(notJson.status).toBe(400);
    expect(notJson.body.detail).toMatch(/not valid JSON/);
    const array = await deliver([1, 2]);
    expect(array.status).toBe(400);
    expect(array.body.detail).toMatch(/JSON object/);
    const noProject = await deliver({ object_kind: 'pipeline' });
    expect(noProject.status).toBe(422);
    expect(noProject.body.code).toBe('WEBHOOK_PAYLOAD_INVALID');
    const badSha = await deliver(pipelineHook(project, { sha: 'abc', pipelineId: 1, status: 'running' }));
    expect(badSha.status).toBe(422);
    expect(badSha.body.detail).toMatch(/object_attributes\.sha/);
    const issue = await deliver({ object_kind: 'issue', project: { id: project.id } }, { event: 'Issue Hook' });
    expect(issue.status).toBe(200);
    expect(issue.body.outcome).toBe('ignored');
  });

  it('answers a delivery before Express as its route does: the webhook limit (413), a body that is not JSON (415), its request id, a query string still reaching the route', async () => {
    const hook = pipelineHook(project, { sha: sha(), pipelineId: 48, status: 'running' });
    const headers = { 'content-type': 'application/json', 'x-gitlab-event': 'Pipeline Hook', 'x-gitlab-token': SECRET };
    // Over the API's body limit (256 KiB) but under the webhook's (960 KiB): accepted.
    const padded = { ...hook, padding: 'x'.repeat(400 * 1024) };
    const large = await call(`${p.api}/webhooks/gitlab`, { method: 'POST', rawBody: JSON.stringify(padded), headers: { ...headers, 'x-gitlab-event-uuid': randomUUID() } });
    expect(large.status).toBe(200);
    const tooLarge = await call(`${p.api}/webhooks/gitlab`, {
      method: 'POST',
      rawBody: JSON.stringify({ ...hook, padding: 'x'.repeat(1_000_000) }),
      headers: { ...headers, 'x-gitlab-event-uuid': randomUUID() },
    });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const form = await call(`${p.api}/webhooks/gitlab`, { method: 'POST', rawBody: 'a=b', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const traced = await call(`${p.api}/webhooks/gitlab`, { method: 'POST', rawBody: JSON.stringify(hook), headers: { ...headers, 'x-gitlab-event-uuid': randomUUID(), 'x-request-id': 'webhook-request-1' } });
    expect(traced.status).toBe(200);
    expect(traced.headers.get('x-request-id')).toBe('webhook-request-1');
    expect(traced.headers.get('content-type')).toMatch(/^application\/json/);
    const unknown = await call(`${p.api}/webhooks/gitlab`, { method: 'POST', rawBody: JSON.stringify(hook), headers: { ...headers, 'x-gitlab-token': 'wrong-token-wrong-token' } });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const withQuery = await call(`${p.api}/webhooks/gitlab?from=gitlab`, { method: 'POST', rawBody: JSON.stringify(hook), headers: { ...headers, 'x-gitlab-event-uuid': randomUUID() } });
    expect(withQuery.status).toBe(200);
    expect(['applied', 'duplicate', 'ignored']).toContain(withQuery.body.outcome);
  });

  /** A commit's whole life as GitLab reports it: push, pipeline created, image job pending/running/success, pipeline done. */
  const lifeOf = (commit: string, pipelineId: number, jobId: number) => [
    { event: 'Push Hook', body: pushHook(project, { after: commit }) },
    { event: 'Pipeline Hook', body: pipelineHook(project, { sha: commit, pipelineId, status: 'created', imageJob: { id: jobId, status: 'created' } }) },
    { event: 'Job Hook', body: jobHook(project, { sha: commit, pipelineId, jobId, status: 'pending' }) },
    { event: 'Job Hook', body: jobHook(project, { sha: commit, pipelineId, jobId, status: 'running' }) },
    { event: 'Pipeline Hook', body: pipelineHook(project, { sha: commit, pipelineId, status: 'running', imageJob: { id: jobId, status: 'running' } }) },
    { event: 'Job Hook', body: jobHook(project, { sha: commit, pipelineId, jobId, status: 'success' }) },
    { event: 'Job Hook', body: jobHook(project, { sha: commit, pipelineId, jobId: jobId + 1, status: 'success', name: 'test-image' }) },
    { event: 'Pipeline Hook', body: pipelineHook(project, { sha: commit, pipelineId, status: 'success', imageJob: { id: jobId, status: 'success' } }) },
  ];
  const statuses = (found: { data: { data: { status: string } } }[]) => found.map((e) => e.data.data.status);

  it("stores no link from a payload that is not on the configured GitLab: a project's maintainer cannot plant one", async () => {
    const commit = sha();
    const hook = pipelineHook(project, { sha: commit, pipelineId: 70, status: 'running', imageJob: { id: 700, status: 'running' } }) as Record<string, any>;
    const forged = { ...hook, object_attributes: { ...hook.object_attributes, url: 'javascript:alert(document.cookie)' }, project: { ...hook.project, web_url: 'https://gitlab.test.phish.example/lab' } };
    expect((await deliver(forged)).status).toBe(200);
    const [build] = await builds(commit);
    expect(build).toMatchObject({ pipelineId: 70, pipelineUrl: null, jobId: 700, jobUrl: null });
  });

  it('in order: one event per transition, pending -> running -> succeeded, with the whole record', async () => {
    const commit = sha();
    for (const d of lifeOf(commit, 60, 600)) expect((await deliver(d.body, { event: d.event })).status).toBe(200);
    const [build] = await builds(commit);
    expect(build).toMatchObject({
      projectId: String(project.id),
      sha: commit,
      ref: 'main',
      tag: false,
      projectPath: project.path,
      defaultBranch: 'main',
      status: 'succeeded',
      image: `registry.test/${project.path}:${commit.slice(0, 8)}`,
      pipelineId: 60,
      pipelineUrl: `https://gitlab.test/${project.path}/-/pipelines/60`,
      jobId: 600,
      jobUrl: `https://gitlab.test/${project.path}/-/jobs/600`,
      failureReason: null,
    });
    expect(build.finishedAt).not.toBeNull();
    const found = await waitForEvents(commit, 3);
    expect(statuses(found)).toEqual(['pending', 'running', 'succeeded']);
    expect(found.map((e) => e.subject)).toEqual(['builds.build.pending', 'builds.build.running', 'builds.build.succeeded']);
    expect(found[2]!.data).toMatchObject({ type: 'builds.build.succeeded', version: 1, data: { image: build.image, jobId: 600 } });
  });

  it('shuffled and delivered twice (retries reuse the UUID): the same final record, each status announced once, only forward', async () => {
    for (const seed of [1, 7, 42]) {
      const commit = sha();
      const deliveries = lifeOf(commit, 70 + seed, 7000 + seed).map((d) => ({ ...d, uuid: randomUUID() }));
      const once = shuffled(deliveries, seed);
      const again = shuffled(deliveries, seed + 1000);
      for (const d of [...once, ...again]) expect((await deliver(d.body, { event: d.event, uuid: d.uuid })).status).toBe(200);
      const [build] = await builds(commit);
      expect(build).toMatchObject({ status: 'succeeded', pipelineId: 70 + seed, jobId: 7000 + seed });
      const found = await waitForEvents(commit, 1, (e) => e.at(-1)?.data.data.status === 'succeeded');
      const seen = statuses(found);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.at(-1)).toBe('succeeded');
      const rank = { pending: 0, running: 1, succeeded: 2 } as Record<string, number>;
      expect(seen.map((s) => rank[s])).toEqual([...seen.map((s) => rank[s]!)].sort());
      expect(found.map((e) => e.data.data.revision)).toEqual([...found.map((e) => e.data.data.revision)].sort((a, b) => a - b));
    }
  });

  it("a new commit's deliveries all at once: each waits for the one before to commit, then reads the record it left (no lost or repeated status)", async () => {
    for (const seed of [3, 9]) {
      const commit = sha();
      const deliveries = lifeOf(commit, 90 + seed, 9000 + seed);
      const answers = await Promise.all(deliveries.map((d) => deliver(d.body, { event: d.event, uuid: randomUUID() })));
      expect(answers.map((a) => a.status)).toEqual(deliveries.map(() => 200));
      const [build] = await builds(commit);
      expect(build).toMatchObject({ status: 'succeeded', pipelineId: 90 + seed, jobId: 9000 + seed });
      const found = await waitForEvents(commit, 1, (e) => e.at(-1)?.data.data.status === 'succeeded');
      const seen = statuses(found);
      expect(new Set(seen).size).toBe(seen.length);
      const revisions = found.map((e) => e.data.data.revision);
      expect(new Set(revisions).size).toBe(revisions.length);
      expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    }
  });

  it('says "duplicate" to a retried delivery, even when both copies arrive at once', async () => {
    const commit = sha();
    const body = pipelineHook(project, { sha: commit, pipelineId: 80, status: 'running', imageJob: { id: 800, status: 'running' } });
    const uuid = randomUUID();
    const answers = await Promise.all([deliver(body, { uuid }), deliver(body, { uuid }), deliver(body, { uuid })]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.map((a) => a.body.outcome).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    expect(statuses(await waitForEvents(commit, 1))).toEqual(['running']);
  });

  it('a late running event does not undo succeeded; a retried job goes failed -> running -> succeeded', async () => {
    const commit = sha();
    const job = (jobId: number, status: string, extra: Record<string, unknown> = {}) => deliver(jobHook(project, { sha: commit, pipelineId: 90, jobId, status, ...extra }), { event: 'Job Hook' });
    await job(900, 'failed', { failure_reason: 'script_failure' });
    let [build] = await builds(commit);
    expect(build).toMatchObject({ status: 'failed', failureReason: 'script_failure' });
    await job(901, 'running');
    await job(900, 'running'); // the first attempt's late running: stale
    await job(901, 'success');
    await job(901, 'running'); // late: must not undo succeeded
    [build] = await builds(commit);
    expect(build).toMatchObject({ status: 'succeeded', jobId: 901, failureReason: null });
    expect(statuses(await waitForEvents(commit, 3))).toEqual(['failed', 'running', 'succeeded']);
  });

  it("reads the documented pipeline event verbatim (the image job named as in GitLab's example), naming the image after the project's own path", async () => {
    const doc = { ...DOC_PIPELINE_EVENT, project: { ...DOC_PIPELINE_EVENT.project, id: project.id } };
    const res = await deliver(doc);
    expect(res.body).toMatchObject({ outcome: 'applied' });
    const [build] = await builds(DOC_PIPELINE_EVENT.object_attributes.sha);
    expect(build).toMatchObject({ status: 'succeeded', pipelineId: 31, jobId: 376, ref: 'master', image: `registry.test/${project.path}:bcbb5ec3` });
  });

  it('a tag, merge request or scheduled pipeline without the image job leaves a succeeded build as it was, on its branch', async () => {
    const commit = sha();
    await deliver(pipelineHook(project, { sha: commit, pipelineId: 110, status: 'success', imageJob: { id: 1100, status: 'success' } }));
    await deliver(tagPipelineHook(project, { sha: commit, tagName: 'v1.0', pipelineId: 111, status: 'success' }));
    await deliver(mergeRequestPipelineHook(project, { sha: commit, iid: 7, sourceBranch: 'main', pipelineId: 112, status: 'failed' }));
    await deliver(scheduledPipelineHook(project, { sha: commit, pipelineId: 113, status: 'success' }));
    // A tag pipeline that does run the image job, and fails it, cannot undo the image either.
    await deliver(tagPipelineHook(project, { sha: commit, tagName: 'v1.0', pipelineId: 114, status: 'failed', imageJob: { id: 1140, status: 'failed' } }));
    const [build] = await builds(commit);
    expect(build).toMatchObject({ status: 'succeeded', ref: 'main', tag: false, pipelineId: 110, jobId: 1100, failureReason: null });
    expect(statuses(await waitForEvents(commit, 1))).toEqual(['succeeded']);
    expect((await allEvents(commit)).map((e) => e.subject)).toEqual(['builds.build.succeeded']);
  });

  it('a pipeline without the image job that finishes first does not keep the build from the one that has it', async () => {
    const commit = sha();
    await deliver(mergeRequestPipelineHook(project, { sha: commit, iid: 8, sourceBranch: 'feature', pipelineId: 121, status: 'success' }));
    expect((await builds(commit))[0]).toMatchObject({ status: 'failed', failureReason: expect.stringMatching(/without a job named build-image/) });
    // The branch pipeline (an older id: created at the push) reports its image job afterwards.
    await deliver(jobHook(project, { sha: commit, ref: 'feature', pipelineId: 120, jobId: 1200, status: 'running' }), { event: 'Job Hook' });
    await deliver(tagPipelineHook(project, { sha: commit, tagName: 'v2.0', pipelineId: 122, status: 'success' }));
    await deliver(jobHook(project, { sha: commit, ref: 'feature', pipelineId: 120, jobId: 1200, status: 'success' }), { event: 'Job Hook' });
    expect((await builds(commit))[0]).toMatchObject({ status: 'succeeded', ref: 'feature', tag: false, pipelineId: 120, jobId: 1200, failureReason: null });
  });

  it('a commit first built by its tag pipeline moves to its branch when the branch says so, and stays there', async () => {
    const commit = sha();
    await deliver(tagPipelineHook(project, { sha: commit, tagName: 'v3.0', pipelineId: 131, status: 'running', imageJob: { id: 1310, status: 'success' } }));
    expect((await builds(commit))[0]).toMatchObject({ status: 'succeeded', ref: 'v3.0', tag: true });
    await deliver(pushHook(project, { after: commit, ref: 'release' }), { event: 'Push Hook' });
    expect((await builds(commit))[0]).toMatchObject({ status: 'succeeded', ref: 'release', tag: false, pipelineId: 131 });
    await deliver(pipelineHook(project, { sha: commit, ref: 'other', pipelineId: 132, status: 'running', imageJob: null }));
    expect((await builds(commit))[0]).toMatchObject({ ref: 'release', tag: false });
    expect((await waitForAllEvents(commit, 2)).map((e) => e.subject)).toEqual(['builds.build.succeeded', 'builds.build.updated']);
  });

  it('announces the pipeline of a commit a push announced (builds.build.updated), and a new failure reason', async () => {
    const commit = sha();
    await deliver(pushHook(project, { after: commit }), { event: 'Push Hook' });
    await deliver(pipelineHook(project, { sha: commit, pipelineId: 140, status: 'created', imageJob: { id: 1400, status: 'created' } }));
    await deliver(jobHook(project, { sha: commit, pipelineId: 140, jobId: 1400, status: 'failed', failure_reason: 'script_failure' }), { event: 'Job Hook' });
    await deliver(jobHook(project, { sha: commit, pipelineId: 140, jobId: 1401, status: 'failed', failure_reason: 'runner_system_failure' }), { event: 'Job Hook' });
    const found = await waitForAllEvents(commit, 4);
    expect(found.map((e) => [e.subject, e.data.data.pipelineId, e.data.data.failureReason])).toEqual([
      ['builds.build.pending', null, null],
      ['builds.build.updated', 140, null],
      ['builds.build.failed', 140, 'script_failure'],
      ['builds.build.updated', 140, 'runner_system_failure'],
    ]);
  });

  it('answers the sessions service: the image of a commit, or BUILD_NOT_FOUND', async () => {
    const commit = sha();
    await deliver(pipelineHook(project, { sha: commit, pipelineId: 95, status: 'running', imageJob: { id: 950, status: 'running' } }));
    const ask = async (s: string) => JSON.parse(new TextDecoder().decode((await nc.request('builds.rpc.build.image-for-commit', JSON.stringify({ projectId: String(project.id), sha: s }), { timeout: 3000 })).data));
    expect(await ask(commit)).toMatchObject({ ok: true, data: { status: 'running', image: `registry.test/${project.path}:${commit.slice(0, 8)}`, failureReason: null } });
    expect(await ask(sha())).toMatchObject({ ok: false, error: { code: 'BUILD_NOT_FOUND' } });
  });

  it('shows builds to whoever can read the project, and hides a private one from others', async () => {
    expect((await call(`${p.api}/projects/${project.id}/builds`, { token: dev })).body.items.length).toBeGreaterThan(0);
    expect((await call(`${p.api}/projects/${project.id}/builds`, { token: stranger })).status).toBe(404);
    const bad = await call(`${p.api}/projects/${project.id}/builds?sha=XYZ`, { token: dev });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/sha/);
  });

  async function waitForEvents(commit: string, atLeast: number, done: (found: any[]) => boolean = () => true, read = events) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = await read(commit);
      if (found.length >= atLeast && done(found)) {
        // The relay publishes in commit order; one more read shows whether anything extra follows.
        await new Promise((r) => setTimeout(r, 300));
        return read(commit);
      }
      if (Date.now() > deadline) throw new Error(`expected ${atLeast} events for ${commit}, got ${JSON.stringify(found.map((e) => e.subject))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const waitForAllEvents = (commit: string, atLeast: number) => waitForEvents(commit, atLeast, () => true, allEvents);

  it('a project renamed through PUT /projects/{id} has its next images named after the new path, in lower case', async () => {
    const renamed = { id: 1002, path: 'lab/old-name' };
    const secret = 'project-1002-webhook-secret-long-enough';
    expect((await call(`${p.api}/projects/${renamed.id}`, { method: 'PUT', token: admin, body: { path: renamed.path, name: 'Old', visibility: 'private' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/${renamed.id}/webhook-secret`, { method: 'PUT', token: admin, body: { secret } })).status).toBe(200);
    expect((await call(`${p.api}/projects/${renamed.id}`, { method: 'PUT', token: admin, body: { path: 'Lab/New-Name', name: 'New', visibility: 'private' } })).status).toBe(200);
    // The rename travels as an event: each try is a new commit, until one is named after the new path.
    let attempt = 0;
    const build = await waitFor('builds to follow the rename', async () => {
      const commit = sha();
      attempt++;
      const res = await deliver(jobHook({ id: renamed.id, path: 'lab/old-name' }, { sha: commit, pipelineId: 700 + attempt, jobId: 7000 + attempt, status: 'success' }), { event: 'Job Hook', token: secret });
      expect(res.body.outcome).toBe('applied');
      const [made] = await builds(commit, renamed);
      return made?.image === `registry.test/lab/new-name:${commit.slice(0, 8)}` ? made : undefined;
    }, 30_000, 300);
    expect(build.projectPath).toBe('Lab/New-Name');
  });
});
