import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { OutboxWriter } from '@launchpad/messaging';
import { createServiceDataSource, migrate } from '@launchpad/persistence';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { ADMIN_DATABASE_URL, uniqueSuffix } from '../../../../tools/testing/harness.js';
import { buildsEntities, buildsMigrations } from '../builds.module.js';
import { BuildsService } from '../builds/builds.service.js';
import { loadBuildsConfig } from '../config.js';
import { type ApiJob, type ApiPipeline, type GitLabApi, GitLabUnavailable } from './gitlab-api.js';
import { RepairLoop } from './repair-loop.js';

type Pipeline = ApiPipeline & { jobs: Partial<ApiJob>[] };

/** GitLab's API as the repair loop sees it, per project: pipelines newest first, or a failure. */
class FakeGitLab {
  readonly enabled = true;
  readonly asked: string[] = [];
  readonly pipelines = new Map<string, Pipeline[]>();
  readonly failures = new Map<string, () => Error>();

  async pipelinesOf(projectId: string, sha: string): Promise<ApiPipeline[]> {
    this.asked.push(`${projectId}:${sha}`);
    const failure = this.failures.get(projectId);
    if (failure) throw failure();
    return (this.pipelines.get(projectId) ?? []).filter((p) => p.sha === sha).sort((a, b) => b.id - a.id);
  }

  async jobsOf(projectId: string, pipelineId: number): Promise<ApiJob[]> {
    const pipeline = (this.pipelines.get(projectId) ?? []).find((p) => p.id === pipelineId);
    return (pipeline?.jobs ?? []).map((j) => ({ id: 0, name: '', status: 'created', ...j }) as ApiJob).sort((a, b) => b.id - a.id);
  }
}

/** Against the machine's Postgres, in a schema of its own; GitLab is a fake that answers what each test sets. */
describe('the repair loop, build by build', () => {
  const schema = `builds_repair_${uniqueSuffix()}`;
  const config = loadBuildsConfig({
    DATABASE_URL: ADMIN_DATABASE_URL,
    GITLAB_URL: 'https://gitlab.test',
    GITLAB_API_TOKEN: 'glpat-test',
    BUILD_JOB_NAME: 'image_build',
    BUILD_REGISTRY: 'registry.test',
    BUILD_REPAIR_AFTER_MS: '1000',
    BUILD_REPAIR_MAX_AGE_MS: String(24 * 3600 * 1000),
  });
  let ds: DataSource;
  let gitlab: FakeGitLab;
  let loop: RepairLoop;
  const sha = () => randomBytes(20).toString('hex');
  const project = () => `p-${randomBytes(4).toString('hex')}`;

  /** A build as the webhooks left it, last changed `ago` before now. */
  async function unfinished(projectId: string, commit: string, o: { ago?: string; pipelineId?: number | null; jobId?: number | null; status?: string; checkedAgo?: string | null; attempts?: number } = {}) {
    await ds.query(
      `INSERT INTO builds (project_id, sha, ref, tag, project_path, status, image, pipeline_id, job_id, revision, created_at, updated_at, checked_at, repair_attempts)
       VALUES ($1, $2, 'main', false, 'lab/repair', $3, 'registry.test/lab/repair:x', $4, $5, 1, now() - $6::interval, now() - $6::interval,
               CASE WHEN $7::interval IS NULL THEN NULL ELSE now() - $7::interval END, $8)`,
      [projectId, commit, o.status ?? 'pending', o.pipelineId ?? null, o.jobId ?? null, o.ago ?? '1 hour', o.checkedAgo ?? null, o.attempts ?? 0],
    );
  }
  const row = async (projectId: string, commit: string) =>
    ((await ds.query(`SELECT status, pipeline_id, job_id, failure_reason, checked_at, repair_attempts FROM builds WHERE project_id = $1 AND sha = $2`, [projectId, commit])) as any[])[0];
  const askedAbout = (projectId: string, commit: string) => gitlab.asked.includes(`${projectId}:${commit}`);

  beforeAll(async () => {
    ds = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema, entities: buildsEntities, migrations: buildsMigrations, applicationName: 'repair-test' });
    await ds.initialize();
    await migrate(ds, schema);
  });

  beforeEach(() => {
    gitlab = new FakeGitLab();
    const outbox = new OutboxWriter(ds);
    loop = new RepairLoop(ds, outbox, new BuildsService(ds, outbox, config), gitlab as unknown as GitLabApi, config);
  });

  afterEach(async () => {
    // Each test's builds are its own; earlier ones must not be due in the next.
    await ds.query(`UPDATE builds SET status = 'canceled'`);
  });

  afterAll(async () => {
    await ds?.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds?.destroy();
  });

  it("one build GitLab answers oddly about (not its API's shape) does not stall the pass: it is marked checked, and the others are repaired", async () => {
    const [odd, fine] = [project(), project()];
    const [a, b] = [sha(), sha()];
    await unfinished(odd, a, { ago: '2 hours' });
    await unfinished(fine, b);
    gitlab.failures.set(odd, () => z.array(z.object({ id: z.number() })).safeParse([{ id: 'html' }]).error!);
    gitlab.pipelines.set(fine, [{ id: 7, sha: b, ref: 'main', status: 'success', jobs: [{ id: 70, name: 'image_build', status: 'success' }] }]);
    await loop.runPass();
    expect(await row(fine, b)).toMatchObject({ status: 'succeeded', pipeline_id: '7', job_id: '70' });
    expect(await row(odd, a)).toMatchObject({ status: 'pending', repair_attempts: 1 });
    expect((await row(odd, a)).checked_at).not.toBeNull();
  });

  it('GitLab unreachable stops the pass, but the build it was asked about counts as checked, so the next pass starts with others', async () => {
    const [down, fine] = [project(), project()];
    const [a, b] = [sha(), sha()];
    await unfinished(down, a, { ago: '2 hours' });
    await unfinished(fine, b);
    gitlab.failures.set(down, () => new GitLabUnavailable('GitLab answered 500'));
    gitlab.pipelines.set(fine, [{ id: 8, sha: b, ref: 'main', status: 'success', jobs: [{ id: 80, name: 'image_build', status: 'success' }] }]);
    await expect(loop.runPass()).rejects.toThrow(/500/);
    expect(await row(down, a)).toMatchObject({ status: 'pending', repair_attempts: 1 });
    await loop.runPass();
    expect(await row(fine, b)).toMatchObject({ status: 'succeeded' });
  });

  it('backs off per build: one GitLab had nothing new about is asked again after BUILD_REPAIR_AFTER_MS times 2^attempts', async () => {
    const id = project();
    const [soon, later] = [sha(), sha()];
    gitlab.pipelines.set(id, []);
    await unfinished(id, soon, { pipelineId: 5, checkedAgo: '5 seconds', attempts: 2 });
    await unfinished(id, later, { pipelineId: 6, checkedAgo: '3 seconds', attempts: 2 });
    await loop.runPass();
    expect([askedAbout(id, soon), askedAbout(id, later)]).toEqual([true, false]);
    expect(await row(id, soon)).toMatchObject({ repair_attempts: 3 });
  });

  it('gives up on a build that has not changed for BUILD_REPAIR_MAX_AGE_MS, and never asks about projects GitLab destroyed', async () => {
    const [id, destroyed] = [project(), project()];
    const [stale, gone, fresh] = [sha(), sha(), sha()];
    await unfinished(id, stale, { ago: '2 days' });
    await unfinished(destroyed, gone);
    await ds.query(`INSERT INTO gitlab_projects (project_id, path, source_at, source_rank, destroyed) VALUES ($1, 'lab/gone', now(), 2, true)`, [destroyed]);
    await unfinished(id, fresh);
    await loop.runPass();
    expect([askedAbout(id, stale), askedAbout(destroyed, gone), askedAbout(id, fresh)]).toEqual([false, false, true]);
  });

  it("looks at the build's own pipeline and the newest pipeline with the image job, not at the newest pipeline whatever it ran", async () => {
    const id = project();
    const commit = sha();
    await unfinished(id, commit, { status: 'running', pipelineId: 10, jobId: 100 });
    gitlab.pipelines.set(id, [
      { id: 10, sha: commit, ref: 'main', status: 'success', jobs: [{ id: 100, name: 'image_build', status: 'success' }, { id: 101, name: 'test', status: 'success' }] },
      { id: 11, sha: commit, ref: 'refs/merge-requests/3/head', status: 'failed', jobs: [{ id: 110, name: 'test', status: 'failed' }] },
      { id: 12, sha: commit, ref: 'v1.0', status: 'success', jobs: [{ id: 120, name: 'release-notes', status: 'success' }] },
    ]);
    await loop.runPass();
    expect(await row(id, commit)).toMatchObject({ status: 'succeeded', pipeline_id: '10', job_id: '100', failure_reason: null });
  });

  it('a commit whose pipelines have no image job stays pending while one runs, and fails, saying so, once all have finished', async () => {
    const id = project();
    const commit = sha();
    await unfinished(id, commit);
    gitlab.pipelines.set(id, [
      { id: 20, sha: commit, ref: 'main', status: 'success', jobs: [{ id: 200, name: 'test', status: 'success' }] },
      { id: 21, sha: commit, ref: 'v1.0', status: 'running', jobs: [{ id: 210, name: 'test', status: 'running' }] },
    ]);
    await loop.runPass();
    expect(await row(id, commit)).toMatchObject({ status: 'pending', pipeline_id: '21', job_id: null });
    gitlab.pipelines.get(id)![1]!.status = 'success';
    await ds.query(`UPDATE builds SET updated_at = now() - interval '1 hour', checked_at = NULL WHERE project_id = $1`, [id]);
    await loop.runPass();
    expect(await row(id, commit)).toMatchObject({ status: 'failed', pipeline_id: '21', failure_reason: expect.stringMatching(/without a job named image_build/) });
  });
});
