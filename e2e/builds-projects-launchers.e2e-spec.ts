import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { randomBytes, randomUUID } from 'node:crypto';
import { waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { readStream } from '../tools/testing/streams.js';
import { jobHook, pipelineHook, pushHook, systemHook, tagPipelineHook } from '../tools/testing/gitlab.js';

const SYSTEM_SECRET = 'gitlab-system-hook-secret';
const SECRET = 'project-74-webhook-secret';
const sha = () => randomBytes(20).toString('hex');

/** GitLab system hooks keep environments' projects and members; builds pin launchers made from code and flag updates. */
describe('GitLab system hooks and launchers made from code', () => {
  let p: TestPlatform;
  let nc: NatsConnection;
  let admin: string, john: string;

  const system = (body: unknown, token = SYSTEM_SECRET) =>
    call(`${p.api}/webhooks/gitlab`, { method: 'POST', body, headers: { 'x-gitlab-event': 'System Hook', 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': token } });
  const pipeline = (projectId: number, path: string, o: { sha: string; pipelineId: number; status: string; job: string; ref?: string }) =>
    call(`${p.api}/webhooks/gitlab`, {
      method: 'POST',
      body: pipelineHook({ id: projectId, path }, { sha: o.sha, ref: o.ref, pipelineId: o.pipelineId, status: o.status, imageJob: { id: o.pipelineId * 10, status: o.job } }),
      headers: { 'x-gitlab-event': 'Pipeline Hook', 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': SECRET },
    });
  const project = (id: number | string) => call(`${p.api}/projects/${id}`, { token: admin });
  const members = async (id: number | string) => (await call(`${p.api}/projects/${id}/members`, { token: admin })).body.items?.map((m: any) => [m.userId, m.role]);

  beforeAll(async () => {
    p = await startPlatform(
      {
        builds: { GITLAB_SYSTEM_HOOK_TOKEN: SYSTEM_SECRET, GITLAB_URL: 'https://gitlab.example.com', BUILD_JOB_NAME: 'build-image', BUILD_REGISTRY: 'registry.example.com' },
        // The installation clones from its GitLab only.
        environments: { REPOSITORY_HOSTS: 'gitlab.example.com', ALLOW_FILE_REPOSITORIES: 'false' },
      },
      { services: ['builds'] },
    );
    nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    [admin, john] = await Promise.all([p.token('root', true), p.token('johnsmith')]);
  });

  afterAll(async () => {
    await nc?.close();
    await p?.stop();
  });

  it('refuses a system hook with the wrong token (401) and changes nothing', async () => {
    const res = await system(systemHook('project_create', { project_id: 70 }), 'not-the-system-secret');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('WEBHOOK_TOKEN_INVALID');
    expect((await project(70)).status).toBe(404);
  });

  it('project_create makes the project, with its GitLab repository, visible through the environments API', async () => {
    expect((await system(systemHook('project_create'))).body.outcome).toBe('applied');
    const created = await waitFor('project 74', async () => ((await project(74)).status === 200 ? project(74) : undefined));
    expect(created.body).toMatchObject({ id: '74', path: 'jsmith/storecloud', name: 'StoreCloud', visibility: 'private', repositories: [{ url: 'https://gitlab.example.com/jsmith/storecloud.git', name: 'storecloud' }] });
  });

  it('refuses (422) a project naming a repository the runtimes would not clone, naming the URL and the rule, by the rule they clone under', async () => {
    const body = (url: string) => ({ path: 'lab/elsewhere', name: 'Elsewhere', visibility: 'private', repositories: [{ url: 'https://gitlab.example.com/lab/ok.git' }, { url }] });
    const elsewhere = await call(`${p.api}/projects/75`, { method: 'PUT', token: admin, body: body('https://github.com/lab/x.git') });
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.headers.get('content-type')).toMatch(/problem\+json/);
    expect(elsewhere.body).toMatchObject({
      code: 'REPOSITORY_NOT_ALLOWED',
      detail: 'the project names a repository this installation will not clone: https://github.com/lab/x.git: host github.com is not one this installation clones from (REPOSITORY_HOSTS: gitlab.example.com)',
      errors: [{ path: 'repositories.1.url', message: expect.stringMatching(/^https:\/\/github\.com\/lab\/x\.git: host github\.com/) }],
    });
    const local = await call(`${p.api}/projects/75`, { method: 'PUT', token: admin, body: body('file:///srv/secrets') });
    expect(local.status).toBe(422);
    expect(local.body.detail).toMatch(/file:\/\/\/srv\/secrets: file:\/\/ repositories are for development only \(ALLOW_FILE_REPOSITORIES\)/);
    const plain = await call(`${p.api}/projects/75`, { method: 'PUT', token: admin, body: body('http://gitlab.example.com/lab/y.git') });
    expect(plain.status).toBe(422);
    expect(plain.body.detail).toMatch(/http:\/\/gitlab\.example\.com\/lab\/y\.git: must use https, not http/);
    expect((await project(75)).status).toBe(404);
    expect((await call(`${p.api}/projects/75`, { method: 'PUT', token: admin, body: body('git@gitlab.example.com:lab/tools') })).status).toBe(200);
  });

  it('user_add_to_team, user_update_for_team and user_remove_from_team keep the members (authorisation follows GitLab)', async () => {
    await system(systemHook('user_add_to_team', { access_level: 'Developer' }));
    await waitFor('johnsmith to be a developer', async () => JSON.stringify(await members(74)) === JSON.stringify([['johnsmith', 'developer']]));
    expect((await call(`${p.api}/projects/74`, { token: john })).body.role).toBe('developer');
    await system(systemHook('user_update_for_team', { access_level: 'Maintainer', updated_at: '2012-07-22T08:00:00Z' }));
    await waitFor('johnsmith to be a maintainer', async () => JSON.stringify(await members(74)) === JSON.stringify([['johnsmith', 'maintainer']]));
    // The maintainer GitLab made can now set the project's webhook secret.
    expect((await call(`${p.api}/projects/74/webhook-secret`, { method: 'PUT', token: john, body: { secret: SECRET } })).status).toBe(200);
    await system(systemHook('user_remove_from_team', { updated_at: '2012-07-23T08:00:00Z' }));
    await waitFor('johnsmith to be gone', async () => JSON.stringify(await members(74)) === '[]');
    // Delivered late, out of order: an older add must not bring the member back.
    expect((await system(systemHook('user_add_to_team', { access_level: 'Owner', updated_at: '2012-07-22T09:00:00Z' }))).body.detail).toMatch(/older than what we know/);
    expect((await call(`${p.api}/projects/74`, { token: john })).status).toBe(404);
  });

  it('project_rename moves the path and replaces the repository URL in place', async () => {
    await system(systemHook('project_rename', { project_id: 74, name: 'StoreCloud 2', path_with_namespace: 'jsmith/storecloud2', old_path_with_namespace: 'jsmith/storecloud', project_visibility: 'internal', updated_at: '2012-07-24T08:00:00Z' }));
    const renamed = await waitFor('the rename', async () => {
      const res = await project(74);
      return res.body.path === 'jsmith/storecloud2' ? res : undefined;
    });
    expect(renamed.body).toMatchObject({ name: 'StoreCloud 2', visibility: 'internal', repositories: [{ url: 'https://gitlab.example.com/jsmith/storecloud2.git', name: 'storecloud2' }] });
  });

  it("user_rename moves a member named by username to the new name; user_destroy removes the user's memberships", async () => {
    await system(systemHook('user_add_to_team', { user_username: 'old-boring-name', user_id: 58, access_level: 'Developer', updated_at: '2017-10-01T08:00:00Z' }));
    await waitFor('old-boring-name to be a developer', async () => JSON.stringify(await members(74)) === JSON.stringify([['old-boring-name', 'developer']]));
    const renamed = await system(systemHook('user_rename'));
    expect([renamed.status, renamed.body.outcome]).toEqual([200, 'applied']);
    await waitFor('the membership to move', async () => JSON.stringify(await members(74)) === JSON.stringify([['new-exciting-name', 'developer']]));
    // A late add for the old name (older than the rename) does not bring it back.
    expect((await system(systemHook('user_add_to_team', { user_username: 'old-boring-name', user_id: 58, updated_at: '2017-10-02T08:00:00Z' }))).body.detail).toMatch(/older than what we know/);
    expect((await system(systemHook('user_destroy', { username: 'new-exciting-name', user_id: 58, updated_at: '2017-12-01T08:00:00Z' }))).body.outcome).toBe('applied');
    await waitFor('the user to be gone', async () => JSON.stringify(await members(74)) === '[]');
  });

  let codeLauncher: any;
  const shaA = sha();
  const shaB = sha();

  it('refuses a launcher made from code before any build is known, saying what to do (409)', async () => {
    const res = await call(`${p.api}/projects/74/launchers`, { method: 'POST', token: admin, body: { name: 'App', kind: 'session', environment: { kind: 'code', port: 8000 } } });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('BUILD_NOT_AVAILABLE');
    expect(res.body.detail).toMatch(/no image build of branch main in jsmith\/storecloud2 is known yet/);
  });

  it('pins a launcher made from code to the newest succeeded build of the default branch', async () => {
    await pipeline(74, 'jsmith/storecloud2', { sha: shaA, pipelineId: 100, status: 'success', job: 'success' });
    await pipeline(74, 'jsmith/storecloud2', { sha: sha(), pipelineId: 101, status: 'running', job: 'running' });
    codeLauncher = await waitFor('the launcher, once environments knows build A', async () => {
      const res = await call(`${p.api}/projects/74/launchers`, {
        method: 'POST',
        token: admin,
        body: { name: 'App', kind: 'session', environment: { kind: 'code', port: 8000, defaultUrl: '/app', command: ['python'], args: ['-m', 'app'] } },
      });
      return res.status === 201 ? res.body : undefined;
    });
    const imageA = `registry.example.com/jsmith/storecloud2:${shaA.slice(0, 8)}`;
    expect(codeLauncher).toMatchObject({
      pin: { ref: 'main', sha: shaA, image: imageA },
      updateAvailable: null,
      environment: { kind: 'code', image: imageA, port: 8000, defaultUrl: '/app', command: ['python'], args: ['-m', 'app'] },
    });
  });

  it('a newer succeeded build flags update available and changes nothing else; an older one flags nothing', async () => {
    await pipeline(74, 'jsmith/storecloud2', { sha: shaB, pipelineId: 102, status: 'success', job: 'success' });
    const flagged = await waitFor('update available', async () => {
      const res = await call(`${p.api}/launchers/${codeLauncher.id}`, { token: admin });
      return res.body.updateAvailable ? res.body : undefined;
    });
    expect(flagged.updateAvailable).toMatchObject({ sha: shaB, image: `registry.example.com/jsmith/storecloud2:${shaB.slice(0, 8)}` });
    expect(flagged.pin).toEqual(codeLauncher.pin);
    expect(flagged.environment.image).toBe(codeLauncher.environment.image);
    const updated = await waitFor('launcher.updated v2 with the flag', async () => {
      const found = (await readStream(nc, 'ENVIRONMENTS', 'environments.launcher.updated')).filter((e) => e.data.data.id === codeLauncher.id);
      return found.length > 0 ? found : undefined;
    });
    expect(updated.map((e) => [e.data.version, e.data.data.updateAvailable?.sha])).toEqual([[2, shaB]]);
    // An older pipeline finishing late is not an update.
    await pipeline(74, 'jsmith/storecloud2', { sha: sha(), pipelineId: 99, status: 'success', job: 'success' });
    await pipeline(74, 'jsmith/storecloud2', { sha: sha(), pipelineId: 103, status: 'success', job: 'success', ref: 'feature' });
    await new Promise((r) => setTimeout(r, 500));
    expect((await call(`${p.api}/launchers/${codeLauncher.id}`, { token: admin })).body.updateAvailable.sha).toBe(shaB);
  });

  it('one call moves the pin to the update and clears the flag; again, it changes nothing', async () => {
    const moved = await call(`${p.api}/launchers/${codeLauncher.id}/update-to-latest`, { method: 'POST', token: admin });
    expect(moved.status).toBe(200);
    const imageB = `registry.example.com/jsmith/storecloud2:${shaB.slice(0, 8)}`;
    expect(moved.body).toMatchObject({ pin: { ref: 'main', sha: shaB, image: imageB }, updateAvailable: null, environment: { kind: 'code', image: imageB, port: 8000 } });
    const again = await call(`${p.api}/launchers/${codeLauncher.id}/update-to-latest`, { method: 'POST', token: admin });
    expect(again.body).toEqual(moved.body);
    const env = (await call(`${p.api}/environments`, { token: admin })).body.items[0];
    const global = await call(`${p.api}/projects/74/launchers`, { method: 'POST', token: admin, body: { name: 'Notebook', kind: 'session', environment: { kind: 'global', id: env.id } } });
    const refused = await call(`${p.api}/launchers/${global.body.id}/update-to-latest`, { method: 'POST', token: admin });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('NOT_A_CODE_LAUNCHER');
  });

  it('pins to a named commit, or to the newest build of a branch while none has succeeded (a session waits for it)', async () => {
    const byCommit = await call(`${p.api}/projects/74/launchers`, { method: 'POST', token: admin, body: { name: 'Pinned', kind: 'app', environment: { kind: 'code', sha: shaA.slice(0, 10), port: 8000 } } });
    expect(byCommit.status).toBe(201);
    expect(byCommit.body.pin).toMatchObject({ sha: shaA, ref: 'main' });
    const shaC = sha();
    await pipeline(74, 'jsmith/storecloud2', { sha: shaC, pipelineId: 110, status: 'running', job: 'running', ref: 'dev' });
    const onDev = await waitFor('a launcher on branch dev', async () => {
      const res = await call(`${p.api}/projects/74/launchers`, { method: 'POST', token: admin, body: { name: 'Dev', kind: 'session', environment: { kind: 'code', ref: 'dev', port: 8000 } } });
      return res.status === 201 ? res.body : undefined;
    });
    expect(onDev.pin).toMatchObject({ ref: 'dev', sha: shaC });
    const unknown = await call(`${p.api}/projects/74/launchers`, { method: 'POST', token: admin, body: { name: 'X', kind: 'session', environment: { kind: 'code', sha: 'abcdef12', port: 8000 } } });
    expect(unknown.status).toBe(409);
    expect(unknown.body.detail).toMatch(/no image build of commit abcdef12/);
  });

  describe('a project with several pipelines per commit', () => {
    const lab = { id: 75, path: 'lab/pins' };
    const LAB_SECRET = 'project-75-webhook-secret';
    const hook = (body: unknown, event = 'Pipeline Hook') =>
      call(`${p.api}/webhooks/gitlab`, { method: 'POST', body, headers: { 'x-gitlab-event': event, 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': LAB_SECRET } });
    const succeeded = (commit: string, pipelineId: number) => hook(pipelineHook(lab, { sha: commit, pipelineId, status: 'success', imageJob: { id: pipelineId * 10, status: 'success' } }));
    const launcher = async (name: string, environment: Record<string, unknown>) =>
      waitFor(`launcher ${name}`, async () => {
        const res = await call(`${p.api}/projects/${lab.id}/launchers`, { method: 'POST', token: admin, body: { name, kind: 'session', environment: { kind: 'code', port: 8000, ...environment } } });
        return res.status === 201 ? res.body : undefined;
      });
    const updateOf = async (id: string) => (await call(`${p.api}/launchers/${id}`, { token: admin })).body.updateAvailable?.sha ?? null;

    beforeAll(async () => {
      expect((await call(`${p.api}/projects/${lab.id}`, { method: 'PUT', token: admin, body: { path: lab.path, name: 'Pins', visibility: 'private' } })).status).toBe(200);
      expect((await call(`${p.api}/projects/${lab.id}/webhook-secret`, { method: 'PUT', token: admin, body: { secret: LAB_SECRET } })).status).toBe(200);
    });

    it('a tag pipeline without the image job leaves the commit the newest succeeded build of its branch', async () => {
      const commit = sha();
      await succeeded(commit, 300);
      await hook(tagPipelineHook(lab, { sha: commit, tagName: 'v1.0', pipelineId: 301, status: 'success' }));
      const pinned = await launcher('Tagged', {});
      expect(pinned.pin).toEqual({ ref: 'main', sha: commit, image: `registry.example.com/${lab.path}:${commit.slice(0, 8)}` });
      const build = (await call(`${p.api}/projects/${lab.id}/builds?sha=${commit}`, { token: admin })).body.items[0];
      expect(build).toMatchObject({ status: 'succeeded', ref: 'main', tag: false, pipelineId: 300 });
    });

    it('a launcher pinned to a pushed commit whose pipeline is unknown is offered no other commit; once its pipeline is known, the newer build is', async () => {
      const [older, old, pushed, newer] = [sha(), sha(), sha(), sha()];
      await succeeded(older, 310);
      const onOlder = await launcher('On older', { sha: older });
      await hook(jobHook(lab, { sha: old, pipelineId: 320, jobId: 3200, status: 'running' }), 'Job Hook');
      await hook(pushHook(lab, { after: pushed }), 'Push Hook');
      const onPushed = await launcher('On pushed', { sha: pushed });
      expect(onPushed.pin.sha).toBe(pushed);
      // An older pipeline's build succeeds late: the launcher on `older` is offered it, the one on the pushed commit is not.
      await hook(jobHook(lab, { sha: old, pipelineId: 320, jobId: 3200, status: 'success' }), 'Job Hook');
      await waitFor('the launcher on older to be offered old', async () => (await updateOf(onOlder.id)) === old);
      expect(await updateOf(onPushed.id)).toBeNull();
      // A newer one succeeds while the pushed commit's pipeline is still unknown: not offered either.
      await succeeded(newer, 340);
      await waitFor('the launcher on older to be offered newer', async () => (await updateOf(onOlder.id)) === newer);
      expect(await updateOf(onPushed.id)).toBeNull();
      // The pushed commit's pipeline reports (330 < 340): now `newer` is an update for it.
      await hook(pipelineHook(lab, { sha: pushed, pipelineId: 330, status: 'created', imageJob: { id: 3300, status: 'created' } }));
      await waitFor('the launcher on the pushed commit to be offered newer', async () => (await updateOf(onPushed.id)) === newer);
    });

    it("a release tag whose pipeline builds an old commit's image (its branch build failed) is no update for the commits after it", async () => {
      const [old, pinned, next] = [sha(), sha(), sha()];
      await hook(pipelineHook(lab, { sha: old, pipelineId: 350, status: 'failed', imageJob: { id: 3500, status: 'failed', failure_reason: 'runner_system_failure' } }));
      await succeeded(pinned, 360);
      const onPinned = await launcher('After the release', { sha: pinned });
      await hook(tagPipelineHook(lab, { sha: old, tagName: 'v0.9', pipelineId: 370, status: 'success', imageJob: { id: 3700, status: 'success' } }));
      const built = (await call(`${p.api}/projects/${lab.id}/builds?sha=${old}`, { token: admin })).body.items[0];
      expect(built).toMatchObject({ status: 'succeeded', ref: 'main', tag: false, pipelineId: 370, branchPipelineId: 350 });
      await succeeded(next, 380);
      await waitFor('the launcher to be offered the next commit', async () => (await updateOf(onPinned.id)) === next);
      const offered = (await readStream(nc, 'ENVIRONMENTS', 'environments.launcher.updated')).filter((e) => e.data.data.id === onPinned.id).map((e) => e.data.data.updateAvailable?.sha);
      expect(offered).toEqual([next]);
    });
  });

  it('project_destroy deletes the project and its launchers, each with its event; a late rename does not bring it back', async () => {
    await system(systemHook('project_destroy', { project_id: 74, path_with_namespace: 'jsmith/storecloud2', updated_at: '2012-07-25T08:00:00Z' }));
    await waitFor('project 74 to be gone', async () => (await project(74)).status === 404);
    expect((await call(`${p.api}/launchers/${codeLauncher.id}`, { token: admin })).status).toBe(404);
    const deleted = await waitFor('launcher.deleted', async () => {
      const found = (await readStream(nc, 'ENVIRONMENTS', 'environments.launcher.deleted')).filter((e) => e.data.data.id === codeLauncher.id);
      return found.length > 0 ? found : undefined;
    });
    expect(deleted[0]!.data.data).toMatchObject({ projectId: '74', deletedBy: 'gitlab' });
    expect((await readStream(nc, 'ENVIRONMENTS', 'environments.project.deleted')).map((e) => e.data.data.id)).toEqual(['74']);
    expect((await system(systemHook('project_rename', { project_id: 74, updated_at: '2012-07-24T09:00:00Z' }))).body.detail).toMatch(/older than what we know/);
    await new Promise((r) => setTimeout(r, 300));
    expect((await project(74)).status).toBe(404);
  });
});
