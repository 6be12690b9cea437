import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { type Build, BUILD_EVENTS } from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import { createServiceDataSource, migrate, SecretBox } from '@launchpad/persistence';
import type { DataSource, EntityManager } from 'typeorm';
import { ADMIN_DATABASE_URL, uniqueSuffix, waitFor } from '../../../../tools/testing/harness.js';
import { BuildsConsumer } from '../builds/builds.consumer.js';
import { ProjectBuilds } from '../builds/project-builds.js';
import { environmentsEntities, environmentsMigrations } from '../environments.module.js';
import type { ProjectsService } from '../projects/projects.service.js';
import { LaunchersService } from './launchers.service.js';

/** Against the machine's Postgres, in a schema of its own: flagging launchers made from code (*update available*). */
describe('offering updates to launchers made from code', () => {
  const schema = `env_offers_${uniqueSuffix()}`;
  let ds: DataSource;
  let launchers: LaunchersService;
  let consumer: BuildsConsumer;
  const builds = new ProjectBuilds();
  const project = 'p-offers';
  const sha = () => randomBytes(20).toString('hex');
  let revision = 0;

  const build = (commit: string, status: Build['status'], pipelineId: number | null, ref = 'main', branchPipelineId?: number): Build => ({
    projectId: project,
    sha: commit,
    ref,
    tag: false,
    projectPath: 'lab/offers',
    defaultBranch: 'main',
    status,
    image: `registry.test/lab/offers:${commit.slice(0, 8)}`,
    pipelineId,
    ...(branchPipelineId === undefined ? {} : { branchPipelineId }),
    pipelineUrl: null,
    jobId: pipelineId === null ? null : pipelineId * 10,
    jobUrl: null,
    failureReason: null,
    revision: ++revision,
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    startedAt: null,
    finishedAt: null,
  });

  /** What the builds consumer does with one builds.build.* event. */
  const consume = (b: Build) =>
    ds.transaction(async (m) => {
      await builds.record(m, b);
      return launchers.offerUpdate(m, b);
    });

  /** What launcher creation writes, in the caller's transaction, holding the project's launcher lock as create() does. */
  async function createPinned(m: EntityManager, name: string, commit: string, ref = 'main'): Promise<string> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`launchpad:launchers:${project}`]);
    const [env] = await m.query(
      `INSERT INTO environments (kind, project_id, name, image, port, default_url, working_directory, mount_directory, uid, gid, created_by)
       VALUES ('code', $1, $2, $3, 8000, '/', '/work', '/work', 1000, 100, 'test') RETURNING id`,
      [project, `${name} environment`, `registry.test/lab/offers:${commit.slice(0, 8)}`],
    );
    const [launcher] = await m.query(
      `INSERT INTO launchers (project_id, name, kind, environment_id, created_by, pin_ref, pin_sha, pin_image)
       VALUES ($1, $2, 'session', $3, 'test', $6, $4, $5) RETURNING id`,
      [project, name, (env as { id: string }).id, commit, `registry.test/lab/offers:${commit.slice(0, 8)}`, ref],
    );
    return (launcher as { id: string }).id;
  }
  /** The event the builds service publishes for a build, as the environments consumer receives it. */
  const envelope = (b: Build) => {
    const contract = BUILD_EVENTS[b.status];
    return { id: randomUUID(), type: contract.type, version: contract.version, occurredAt: new Date().toISOString(), data: b };
  };
  const recordedRevision = async (commit: string) =>
    ((await ds.query(`SELECT revision FROM project_builds WHERE project_id = $1 AND sha = $2`, [project, commit]))[0] as { revision: number } | undefined)?.revision;
  const updateOf = async (id: string) => ((await ds.query(`SELECT update_sha FROM launchers WHERE id = $1`, [id]))[0] as { update_sha: string | null }).update_sha;

  beforeAll(async () => {
    ds = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema, entities: environmentsEntities, migrations: environmentsMigrations, applicationName: 'offers-test' });
    await ds.initialize();
    await migrate(ds, schema);
    await ds.query(`INSERT INTO projects (id, path, name, visibility) VALUES ($1, 'lab/offers', 'Offers', 'private')`, [project]);
    launchers = new LaunchersService(ds, null as unknown as ProjectsService, new OutboxWriter(ds), builds, new SecretBox([]), { perProject: 100 });
    consumer = new BuildsConsumer(ds, new OutboxWriter(ds), builds, launchers);
  });

  afterAll(async () => {
    await ds?.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds?.destroy();
  });

  it('a launcher created while a newer build succeeds is flagged: the offer waits for the creation to commit', async () => {
    const [pinned, newer] = [sha(), sha()];
    await consume(build(pinned, 'succeeded', 500));
    // Creation has taken the project's launcher lock and written the launcher, not yet committed...
    const runner = ds.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    let offered: Promise<number> | undefined;
    let launcherId: string;
    try {
      launcherId = await createPinned(runner.manager, 'Racing', pinned);
      // ...when the newer build's event is consumed.
      let done = false;
      offered = consume(build(newer, 'succeeded', 510)).finally(() => (done = true));
      await waitFor('the offer to finish or to wait for the launcher lock', async () => {
        if (done) return true;
        const waiting: unknown[] = await ds.query(
          `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND l.locktype = 'advisory' AND a.application_name = 'offers-test'`,
        );
        return waiting.length > 0;
      });
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    expect(await offered).toBe(1);
    expect(await updateOf(launcherId)).toBe(newer);
  });

  it("compares with the pinned commit's pipeline as known now: unknown, no other commit is offered; once known, the newer build is", async () => {
    const [older, pushed, newer] = [sha(), sha(), sha()];
    await consume(build(pushed, 'pending', null));
    const launcherId = await ds.transaction((m) => createPinned(m, 'On pushed', pushed));
    await consume(build(older, 'succeeded', 520));
    expect(await updateOf(launcherId)).toBeNull();
    await consume(build(newer, 'succeeded', 540));
    expect(await updateOf(launcherId)).toBeNull();
    // The pushed commit's pipeline becomes known (builds.build.updated): 530 < 540.
    expect(await consume(build(pushed, 'pending', 530))).toBe(1);
    expect(await updateOf(launcherId)).toBe(newer);
  });

  it('never offers an older build than the pinned one, nor one of another branch', async () => {
    const [pinned, older, elsewhere] = [sha(), sha(), sha()];
    await consume(build(pinned, 'succeeded', 600));
    const launcherId = await ds.transaction((m) => createPinned(m, 'Newest', pinned));
    await consume(build(older, 'succeeded', 590));
    await consume(build(elsewhere, 'succeeded', 610, 'feature'));
    expect(await updateOf(launcherId)).toBeNull();
  });

  it("places a commit on its branch by its first pipeline there: a tag pipeline that builds an old commit's image later does not make it newer", async () => {
    const [old, pinned] = [sha(), sha()];
    await consume(build(old, 'failed', 700, 'main', 700));
    await consume(build(pinned, 'succeeded', 710, 'main', 710));
    const launcherId = await ds.transaction((m) => createPinned(m, 'After the release', pinned));
    // The release tag on `old` runs pipeline 720, whose image job succeeds: `old` still stands at 700.
    expect(await consume(build(old, 'succeeded', 720, 'main', 700))).toBe(0);
    expect(await updateOf(launcherId)).toBeNull();
    expect((await builds.newestOnBranch(ds.manager, project, 'main'))?.sha).toBe(pinned);
  });
  it('the consumer flags a launcher created while it waits for the launcher lock: it reads the pins after the lock', async () => {
    // A branch of its own: the racing launcher is the first pinned to it.
    const [pinned, newer] = [sha(), sha()];
    await consumer.handle(envelope(build(pinned, 'succeeded', 800, 'race')));
    const runner = ds.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    let handled: Promise<void> | undefined;
    let launcherId: string;
    try {
      launcherId = await createPinned(runner.manager, 'Racing the consumer', pinned, 'race');
      let done = false;
      handled = consumer.handle(envelope(build(newer, 'succeeded', 810, 'race'))).finally(() => (done = true));
      await waitFor('the consumer to finish or to wait for the launcher lock', async () => {
        if (done) return true;
        const waiting: unknown[] = await ds.query(
          `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND l.locktype = 'advisory' AND a.application_name = 'offers-test'`,
        );
        return waiting.length > 0;
      });
      // Waiting for the lock, it has recorded nothing yet.
      expect(await recordedRevision(newer)).toBeUndefined();
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    await handled;
    expect(await updateOf(launcherId)).toBe(newer);
  });

  it('the consumer records a build of a branch no launcher is pinned to, flags nothing, and changes nothing on a redelivery', async () => {
    const [pinnedOnMain, elsewhere] = [sha(), sha()];
    await consumer.handle(envelope(build(pinnedOnMain, 'succeeded', 900)));
    const launcherId = await ds.transaction((m) => createPinned(m, 'On main, not on feature', pinnedOnMain));
    const event = envelope(build(elsewhere, 'succeeded', 910, 'feature'));
    await consumer.handle(event);
    expect(await recordedRevision(elsewhere)).toBe(event.data.revision);
    expect(await updateOf(launcherId)).toBeNull();
    // The same event again, after the row moved on: the processed-message row makes it a no-op.
    await ds.query(`UPDATE project_builds SET status = 'failed' WHERE project_id = $1 AND sha = $2`, [project, elsewhere]);
    await consumer.handle(event);
    expect(((await ds.query(`SELECT status FROM project_builds WHERE project_id = $1 AND sha = $2`, [project, elsewhere]))[0] as { status: string }).status).toBe('failed');
  });

  it('recordSeeingPins says whether a launcher is pinned to the branch, never for a tag, and records only newer revisions', async () => {
    const [commit, tagged] = [sha(), sha()];
    await ds.transaction((m) => createPinned(m, 'Pins main', commit));
    const first = build(commit, 'running', 1000);
    expect(await ds.transaction((m) => builds.recordSeeingPins(m, first))).toEqual({ recorded: true, pinned: true });
    expect(await ds.transaction((m) => builds.recordSeeingPins(m, { ...first, status: 'pending' }))).toEqual({ recorded: false, pinned: true });
    expect(await ds.transaction((m) => builds.recordSeeingPins(m, build(commit, 'running', 1000, 'no-launchers-here')))).toEqual({ recorded: true, pinned: false });
    expect(await ds.transaction((m) => builds.recordSeeingPins(m, { ...build(tagged, 'succeeded', 1010), tag: true }))).toEqual({ recorded: true, pinned: false });
  });
});
