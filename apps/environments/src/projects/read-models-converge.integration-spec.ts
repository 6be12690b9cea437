import 'reflect-metadata';
import { catalogueEntities, catalogueMigrations, CatalogueProjection, CatalogueService, type CatalogueHooks, memberRole } from '@launchpad/catalogue';
import {
  createEnvironmentInputSchema,
  DEFAULT_REPOSITORY_URL_POLICY,
  createLauncherInputSchema,
  type Envelope,
  type Launcher,
  type Principal,
  type Project,
  updateEnvironmentInputSchema,
  updateLauncherInputSchema,
  upsertProjectInputSchema,
} from '@launchpad/contracts';
import { CreateMessagingTables1764000000000, type DurableConsumerOptions, type DurableConsumers, OutboxWriter } from '@launchpad/messaging';
import { createServiceDataSource, migrate } from '@launchpad/persistence';
import type { DataSource } from 'typeorm';
import { ADMIN_DATABASE_URL, uniqueSuffix } from '../../../../tools/testing/harness.js';
import { ProjectBuilds } from '../builds/project-builds.js';
import { environmentsEntities, environmentsMigrations } from '../environments.module.js';
import { EnvironmentsService } from '../environments/environments.service.js';
import { LaunchersService } from '../launchers/launchers.service.js';
import type { SecretBox } from '@launchpad/persistence';
import { ProjectsService } from './projects.service.js';

const root: Principal = { userId: 'root', admin: true };

/** A seeded shuffle, so that a failing order can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One delivery: an event (perhaps again), or a copy a use case fetched from environments and keeps (as a launch does). */
type Delivery = { kind: 'event'; envelope: Envelope } | { kind: 'launcher-copy'; launcher: Launcher } | { kind: 'project-copy'; project: Project };

/** A service replica's read model: its own connections, its own projection, fed by hand instead of by JetStream. */
class Replica {
  readonly handlers = new Map<string, DurableConsumerOptions['handler']>();
  readonly catalogue = new CatalogueService();
  removals: string[] = [];

  constructor(readonly ds: DataSource) {}

  async start(): Promise<void> {
    const consumers = { start: async (o: DurableConsumerOptions) => void this.handlers.set(o.filterSubjects[0]!, o.handler) } as unknown as DurableConsumers;
    const hooks: CatalogueHooks = { memberRemoved: async (_change, projectId, userId) => void this.removals.push(`${projectId}/${userId}`) };
    await new CatalogueProjection(this.ds, consumers, this.catalogue, new OutboxWriter(this.ds), { service: 'sessions' }, hooks).onApplicationBootstrap();
  }

  async deliver(d: Delivery): Promise<void> {
    if (d.kind === 'launcher-copy') return void (await this.ds.transaction((m) => this.catalogue.upsertLauncher(m, d.launcher)));
    if (d.kind === 'project-copy') return void (await this.ds.transaction((m) => this.catalogue.upsertProject(m, d.project)));
    const aggregate = d.envelope.type.split('.')[1];
    const handler = this.handlers.get(`environments.${aggregate}.>`);
    if (!handler) throw new Error(`no consumer for ${d.envelope.type}`);
    await handler(d.envelope, undefined as never);
  }
}

/**
 * The environments service makes a real history of two projects (members added, changed, removed
 * and added again; launchers created, edited, moved as default and deleted; a global environment
 * changed; a project deleted and made again). Its events, shuffled and each delivered up to three
 * times, together with copies fetched mid-way (as a launch keeps them), go to two replicas that
 * apply them at the same time against real Postgres, as two replicas of one durable do. Whatever
 * the order, the read model ends equal to the source.
 */
describe('read models of projects, members and launchers converge on the source', () => {
  const suffix = uniqueSuffix();
  const sourceSchema = `env_converge_${suffix}`;
  const readSchema = `read_converge_${suffix}`;
  let source: DataSource;
  const replicas: Replica[] = [];
  const deliveries: Delivery[] = [];
  const deletedLaunchers: string[] = [];

  beforeAll(async () => {
    source = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema: sourceSchema, entities: environmentsEntities, migrations: environmentsMigrations, applicationName: 'converge-source' });
    await source.initialize();
    await migrate(source, sourceSchema);
    for (let i = 0; i < 2; i++) {
      const ds = createServiceDataSource({
        url: ADMIN_DATABASE_URL,
        schema: readSchema,
        entities: catalogueEntities,
        migrations: [CreateMessagingTables1764000000000, ...catalogueMigrations],
        applicationName: `converge-replica-${i}`,
      });
      await ds.initialize();
      await migrate(ds, readSchema);
      const replica = new Replica(ds);
      await replica.start();
      replicas.push(replica);
    }
    await makeHistory();
    const rows: { envelope: Envelope }[] = await source.query(`SELECT envelope FROM outbox ORDER BY position`);
    deliveries.push(...rows.map((r) => ({ kind: 'event' as const, envelope: r.envelope })));
  });

  afterAll(async () => {
    await source?.query(`DROP SCHEMA IF EXISTS "${sourceSchema}" CASCADE`);
    await source?.query(`DROP SCHEMA IF EXISTS "${readSchema}" CASCADE`);
    await source?.destroy();
    for (const r of replicas) await r.ds.destroy();
  });

  async function makeHistory(): Promise<void> {
    const outbox = new OutboxWriter(source);
    const projects = new ProjectsService(source, outbox, DEFAULT_REPOSITORY_URL_POLICY);
    const launchers = new LaunchersService(source, projects, outbox, new ProjectBuilds(), undefined as unknown as SecretBox, { perProject: 50 });
    const environments = new EnvironmentsService(source, outbox);
    const copies: Delivery[] = [];
    const keepCopies = async (projectId: string, launcherId?: string) => {
      copies.push({ kind: 'project-copy', project: await projects.get(projectId, root) });
      if (launcherId) copies.push({ kind: 'launcher-copy', launcher: await launchers.get(launcherId, root) });
    };
    const project = (path: string, visibility: string) => upsertProjectInputSchema.parse({ path, name: path, visibility, repositories: [{ url: `https://gitlab.test/${path}.git` }] });
    const custom = (image: string) => ({ kind: 'custom', image, port: 8888 });

    const global = await environments.create(createEnvironmentInputSchema.parse({ name: `Converge ${suffix}`, image: 'quay.io/jupyter/base-notebook:2025-01-01', port: 8888 }), root);

    // Project 7001: membership churn, renames, launchers.
    await projects.upsert('7001', project('lab/one', 'private'), root);
    await projects.setMember('7001', 'alice', 'guest', root);
    await projects.setMember('7001', 'bob', 'developer', root);
    await projects.setMember('7001', 'carol', 'owner', root);
    const l1 = await launchers.create('7001', createLauncherInputSchema.parse({ name: 'Notebook', kind: 'session', environment: custom('docker.io/lab/one:1') }), root);
    await keepCopies('7001', l1.id);
    await projects.setMember('7001', 'alice', 'reporter', root);
    await projects.removeMember('7001', 'bob', root);
    await projects.setMember('7001', 'bob', 'maintainer', root);
    const l2 = await launchers.create('7001', createLauncherInputSchema.parse({ name: 'Global', kind: 'session', environment: { kind: 'global', id: global.id } }), root);
    await launchers.update(l1.id, updateLauncherInputSchema.parse({ name: 'Notebook 2', environment: custom('docker.io/lab/one:2') }), root);
    await keepCopies('7001', l1.id);
    await projects.removeMember('7001', 'alice', root);
    await projects.upsert('7001', project('lab/one-renamed', 'internal'), root);
    await launchers.update(l2.id, updateLauncherInputSchema.parse({ isDefault: true }), root);
    await environments.update(global.id, updateEnvironmentInputSchema.parse({ image: 'quay.io/jupyter/base-notebook:2025-02-01' }), root);
    await keepCopies('7001', l2.id);
    const l3 = await launchers.create('7001', createLauncherInputSchema.parse({ name: 'Short-lived', kind: 'app', environment: custom('docker.io/lab/app:1') }), root);
    await launchers.delete(l3.id, root);
    await projects.setMember('7001', 'alice', 'guest', root);
    await projects.setMember('7001', 'carol', 'developer', root);
    await projects.removeMember('7001', 'bob', root);
    await projects.upsert('7001', project('lab/one-renamed', 'private'), root);
    await launchers.delete(l2.id, root);
    await environments.update(global.id, updateEnvironmentInputSchema.parse({ description: 'changed again' }), root);
    deletedLaunchers.push(l3.id, l2.id);

    // Project 7002: deleted with its members and launcher, then made again under the same id.
    await projects.upsert('7002', project('lab/two', 'private'), root);
    await projects.setMember('7002', 'dave', 'owner', root);
    await projects.setMember('7002', 'erin', 'developer', root);
    const l4 = await launchers.create('7002', createLauncherInputSchema.parse({ name: 'Two', kind: 'session', environment: custom('docker.io/lab/two:1') }), root);
    await keepCopies('7002', l4.id);
    await outbox.transaction((m) => projects.deleteProject(m, '7002', 'root'));
    await projects.upsert('7002', project('lab/two-again', 'public'), root);
    await projects.setMember('7002', 'erin', 'guest', root);
    deletedLaunchers.push(l4.id);

    // Project 7003: deleted for good.
    await projects.upsert('7003', project('lab/three', 'private'), root);
    await projects.setMember('7003', 'frank', 'owner', root);
    await outbox.transaction((m) => projects.deleteProject(m, '7003', 'root'));

    deliveries.push(...copies);
  }

  /** What the source holds and what a replica's read model holds, in the same shape. */
  const sourceState = async () => ({
    members: await source.query(`SELECT project_id, user_id, role FROM project_members ORDER BY 1, 2`),
    projects: await source.query(`SELECT id, path, visibility, repositories, version::int FROM projects ORDER BY 1`),
    launchers: await source.query(
      `SELECT l.id, l.project_id, l.name, l.kind, l.resource_class_id, l.version::int, e.image, e.version::int AS environment_version
         FROM launchers l JOIN environments e ON e.id = l.environment_id ORDER BY 1`,
    ),
  });
  const readState = async (ds: DataSource) => ({
    members: await ds.query(`SELECT project_id, user_id, role FROM catalogue_members WHERE role IS NOT NULL ORDER BY 1, 2`),
    projects: await ds.query(`SELECT id, path, visibility, repositories, version::int FROM catalogue_projects WHERE deleted_at IS NULL ORDER BY 1`),
    launchers: await ds.query(
      `SELECT id, project_id, name, kind, resource_class_id, version::int, environment->>'image' AS image, (environment->>'version')::int AS environment_version
         FROM catalogue_launchers WHERE deleted_at IS NULL ORDER BY 1`,
    ),
  });

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`ends equal to the source after a shuffled, duplicated replay into two replicas at once (seed ${seed})`, async () => {
      const ds = replicas[0]!.ds;
      await ds.query(`TRUNCATE catalogue_members, catalogue_projects, catalogue_launchers, processed_messages`);
      const next = random(seed);
      const queue = deliveries.flatMap((d) => Array.from({ length: 1 + Math.floor(next() * 3) }, () => d));
      for (let i = queue.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [queue[i], queue[j]] = [queue[j]!, queue[i]!];
      }
      const failures: string[] = [];
      await Promise.all(
        replicas.map(async (replica) => {
          for (let d = queue.shift(); d; d = queue.shift()) {
            await replica.deliver(d).catch((error: unknown) => failures.push((error as Error).message));
          }
        }),
      );
      expect(failures).toEqual([]);

      const expected = await sourceState();
      expect(expected.members).toHaveLength(3);
      expect(await readState(ds)).toEqual(expected);
      // Whoever the source no longer has is no member here either, and every deleted launcher stays deleted.
      for (const [projectId, userId] of [['7001', 'bob'], ['7002', 'dave'], ['7003', 'frank']] as const) {
        expect(await memberRole(ds, projectId, userId)).toBeNull();
      }
      for (const id of deletedLaunchers) expect(await replicas[1]!.catalogue.isLauncherDeleted(ds.manager, id)).toBe(true);
    });
  }
});
