import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipelineHook } from '../tools/testing/gitlab.js';
import { killWorkloads, ROOT, waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { readSse } from '../tools/testing/sse.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');
const SECRET = 'project-900-webhook-secret';
const sha = () => randomBytes(20).toString('hex');

/**
 * Sessions from launchers made from code: GitLab's pipeline webhooks (in GitLab's documented
 * shape) drive the build; the session waits while its pinned image builds, and falls back to the
 * default environment's image, saying so, when the build fails.
 */
describe('sessions of launchers made from code', () => {
  let p: TestPlatform;
  let dataDir: string;
  let admin: string, dana: string;

  const pipeline = (o: { sha: string; pipelineId: number; status: string; job: string; failure?: string }) =>
    call(`${p.api}/webhooks/gitlab`, {
      method: 'POST',
      body: pipelineHook({ id: 900, path: 'lab/app' }, { sha: o.sha, pipelineId: o.pipelineId, status: o.status, imageJob: { id: o.pipelineId * 10, status: o.job, failure_reason: o.failure ?? null } }),
      headers: { 'x-gitlab-event': 'Pipeline Hook', 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': SECRET },
    });
  const codeLauncher = (name: string, commit: string) =>
    waitFor(`launcher ${name}, once environments knows the build`, async () => {
      const res = await call(`${p.api}/projects/900/launchers`, {
        method: 'POST',
        token: dana,
        body: { name, kind: 'session', environment: { kind: 'code', sha: commit, port: 8888, command: [process.execPath], args: [PROGRAM] } },
      });
      return res.status === 201 ? res.body : undefined;
    });
  const session = async (id: string) => (await call(`${p.api}/sessions/${id}`, { token: dana })).body;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-code-sessions-'));
    p = await startPlatform(
      {
        builds: { BUILD_JOB_NAME: 'build-image', BUILD_REGISTRY: 'registry.example.com', GITLAB_URL: 'https://gitlab.test' },
        sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '1000' },
      },
      { services: ['builds', 'sessions'] },
    );
    [admin, dana] = await Promise.all([p.token('root', true), p.token('dana')]);
    await call(`${p.api}/projects/900`, { method: 'PUT', token: admin, body: { path: 'lab/app', name: 'App', visibility: 'public' } });
    await call(`${p.api}/projects/900/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } });
    expect((await call(`${p.api}/projects/900/webhook-secret`, { method: 'PUT', token: admin, body: { secret: SECRET } })).status).toBe(200);
  });

  afterAll(async () => {
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('waits while the pinned image is building, then starts with it', async () => {
    const commit = sha();
    expect((await pipeline({ sha: commit, pipelineId: 501, status: 'running', job: 'running' })).status).toBe(200);
    const launcher = await codeLauncher('Building', commit);
    const started = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: launcher.id } });
    expect(started.status).toBe(201);
    const { events } = await readSse(`${p.api}/sessions/${started.body.id}/events`, { authorization: `Bearer ${dana}` }, (es) =>
      es.some((e) => e.data.phase === 'waiting-for-image'),
    );
    expect(events.at(-1)!.data.message).toBe(`waiting for image build of commit ${commit.slice(0, 8)} (running): https://gitlab.test/lab/app/-/pipelines/501`);
    expect(await session(started.body.id)).toMatchObject({ status: 'starting', phase: 'waiting-for-image' });

    expect((await pipeline({ sha: commit, pipelineId: 501, status: 'success', job: 'success' })).status).toBe(200);
    const running = await waitFor('the session to run once the image exists', async () => {
      const s = await session(started.body.id);
      return s.status === 'running' ? s : undefined;
    });
    expect(running.image).toBe(`registry.example.com/lab/app:${commit.slice(0, 8)}`);
  });

  it('falls back to the default environment’s image when the build fails, and says so', async () => {
    const commit = sha();
    await pipeline({ sha: commit, pipelineId: 502, status: 'running', job: 'running' });
    const launcher = await codeLauncher('Broken', commit);
    const started = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: launcher.id } });
    await waitFor('waiting for the image', async () => (await session(started.body.id)).phase === 'waiting-for-image');
    await pipeline({ sha: commit, pipelineId: 502, status: 'failed', job: 'failed', failure: 'script_failure' });
    const { events } = await readSse(`${p.api}/sessions/${started.body.id}/events`, { authorization: `Bearer ${dana}` }, (es) =>
      es.some((e) => e.data.phase === 'ready' || e.data.phase === 'failed'),
    );
    const defaultImage = (await call(`${p.api}/environments`, { token: dana })).body.items.find((e: { isDefault: boolean }) => e.isDefault).image;
    const preparing = events.find((e) => e.data.phase === 'preparing')!;
    expect(preparing.data.message).toMatch(
      new RegExp(`the image build of commit ${commit.slice(0, 8)} failed \\(script_failure\\), so this session runs the default environment's image ${defaultImage.replace(/[.:/]/g, '\\$&')} instead`),
    );
    expect(await session(started.body.id)).toMatchObject({ status: 'running', image: defaultImage });
  });
});
