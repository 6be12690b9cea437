import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import {
  type Envelope,
  type EventContract,
  type EventData,
  type Launcher,
  projectMemberRemovedV1,
  projectMemberRemovedV2,
  projectMemberSetV1,
} from '@launchpad/contracts';
import { buildEnvelope, CreateMessagingTables1764000000000, type DurableConsumerOptions, type DurableConsumers, OutboxWriter } from '@launchpad/messaging';
import { createServiceDataSource, migrate } from '@launchpad/persistence';
import type { DataSource } from 'typeorm';
import { ADMIN_DATABASE_URL, uniqueSuffix } from '../../../tools/testing/harness.js';
import { supersedes } from './apply-rule.js';
import { catalogueEntities } from './catalogue.entity.js';
import { CatalogueProjection } from './catalogue.projection.js';
import { CatalogueService, memberRole } from './catalogue.service.js';
import { catalogueMigrations } from './migrations.js';

const TIMES = ['2026-11-25T12:00:00.000Z', '2026-11-25T13:00:00.000Z', '2026-11-25T14:00:00.000Z'];

/** The read model's writes on a real Postgres schema of their own. */
describe('the catalogue read model against real Postgres', () => {
  const schema = `catalogue_test_${uniqueSuffix()}`;
  let ds: DataSource;
  const catalogue = new CatalogueService();
  const removals: string[] = [];
  let projects: DurableConsumerOptions['handler'];

  beforeAll(async () => {
    ds = createServiceDataSource({
      url: ADMIN_DATABASE_URL,
      schema,
      entities: catalogueEntities,
      migrations: [CreateMessagingTables1764000000000, ...catalogueMigrations],
      applicationName: 'catalogue-test',
    });
    await ds.initialize();
    await migrate(ds, schema);
    const consumers = {
      start: async (o: DurableConsumerOptions) => {
        if (o.filterSubjects[0] === 'environments.project.>') projects = o.handler;
      },
    } as unknown as DurableConsumers;
    const hooks = { memberRemoved: async (_c: unknown, projectId: string, userId: string) => void removals.push(`${projectId}/${userId}`) };
    await new CatalogueProjection(ds, consumers, catalogue, new OutboxWriter(ds), { service: 'test' }, hooks).onApplicationBootstrap();
  });

  afterAll(async () => {
    await ds?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await ds?.destroy();
  });

  const deliver = <C extends EventContract>(contract: C, data: EventData<C>) => projects(buildEnvelope(contract, data) as Envelope, undefined as never);
  const member = (projectId: string, userId: string, role: 'guest' | 'developer', version: number) => ({ projectId, userId, role, updatedAt: TIMES[0]!, version });

  it('writes exactly what the apply rule says, for every pair of held and incoming copies', async () => {
    // Each pair on a key of its own: held first, then incoming; the row shows which one won.
    const copies = [0, 1, 2].flatMap((version) => [0, 1, 2].map((time) => ({ version, updatedAt: TIMES[time]! })));
    for (const held of copies) {
      for (const incoming of copies) {
        const id = `p-${randomUUID()}`;
        await catalogue.upsertProject(ds.manager, { id, path: 'held', visibility: 'private', updatedAt: held.updatedAt, version: held.version });
        const applied = await catalogue.upsertProject(ds.manager, { id, path: 'incoming', visibility: 'private', updatedAt: incoming.updatedAt, version: incoming.version });
        const expected = supersedes(held, incoming);
        expect({ held, incoming, applied }).toEqual({ held, incoming, applied: expected });
        expect((await catalogue.project(ds.manager, id))?.path).toBe(expected ? 'incoming' : 'held');

        // Members have no time: the rule without it. A removal is a write like any other.
        await catalogue.setMember(ds.manager, member(id, 'u', 'guest', held.version));
        const removed = await catalogue.removeMember(ds.manager, id, 'u', incoming.version);
        expect(removed).toBe(supersedes({ version: held.version }, { version: incoming.version }));
        expect(await memberRole(ds, id, 'u')).toBe(removed ? null : 'guest');
      }
    }
  });

  it('keeps a deleted launcher deleted: a late copy, even a newer one, does not bring it back', async () => {
    const id = randomUUID();
    const launcher = {
      id,
      projectId: '42',
      name: 'Board',
      kind: 'app',
      resourceClassId: null,
      environment: { id: randomUUID(), image: 'ghcr.io/lab/board:1', version: 3 },
      pin: null,
      updatedAt: TIMES[0]!,
      version: 5,
    } as unknown as Launcher;
    expect(await catalogue.deleteLauncher(ds.manager, id, '42')).toBe(true);
    expect(await catalogue.upsertLauncher(ds.manager, { ...launcher, version: 9 })).toBe(false);
    expect(await catalogue.launcher(ds.manager, id)).toBeNull();
    expect(await catalogue.isLauncherDeleted(ds.manager, id)).toBe(true);
    // Deleted twice (project.deleted's launcher.deleted after the launcher's own): news once only.
    expect(await catalogue.deleteLauncher(ds.manager, id, '42')).toBe(false);
  });

  it('keeps the newer copy of a launcher’s environment, whichever of the launcher’s and the environment’s events comes last', async () => {
    const id = randomUUID();
    const environmentId = randomUUID();
    const environment = (image: string, version: number) => ({ id: environmentId, image, version }) as unknown as Launcher['environment'];
    const launcher = (version: number, image: string, environmentVersion: number) =>
      ({ id, projectId: '42', name: `v${version}`, kind: 'session', resourceClassId: null, environment: environment(image, environmentVersion), pin: null, updatedAt: TIMES[0]!, version }) as unknown as Launcher;
    await catalogue.upsertLauncher(ds.manager, launcher(10, 'img:1', 3));
    await catalogue.updateEnvironment(ds.manager, environment('img:2', 12));
    // The launcher changes (its name) and its event carries the environment as it was before.
    await catalogue.upsertLauncher(ds.manager, launcher(14, 'img:1', 3));
    // And the environment's event, older than what is held, arrives again late.
    await catalogue.updateEnvironment(ds.manager, environment('img:0', 2));
    expect(await catalogue.launcher(ds.manager, id)).toMatchObject({ name: 'v14', version: 14, environment: { image: 'img:2', version: 12 } });
  });

  it('hibernates nobody for a removal delivered after the member was added again', async () => {
    const projectId = `p-${randomUUID()}`;
    removals.length = 0;
    await deliver(projectMemberSetV1, member(projectId, 'gus', 'guest', 10));
    await deliver(projectMemberSetV1, member(projectId, 'gus', 'developer', 15));
    await deliver(projectMemberRemovedV2, { projectId, userId: 'gus', version: 12 });
    expect(removals).toEqual([]);
    expect(await memberRole(ds, projectId, 'gus')).toBe('developer');

    await deliver(projectMemberRemovedV2, { projectId, userId: 'gus', version: 16 });
    expect(removals).toEqual([`${projectId}/gus`]);
    expect(await memberRole(ds, projectId, 'gus')).toBeNull();
    // A late member-set of the old membership stays behind the tombstone.
    await deliver(projectMemberSetV1, member(projectId, 'gus', 'guest', 14));
    expect(await memberRole(ds, projectId, 'gus')).toBeNull();
  });

  it('applies member-removed v1 (no version) only over a membership held from before versions', async () => {
    const projectId = `p-${randomUUID()}`;
    removals.length = 0;
    await deliver(projectMemberSetV1, member(projectId, 'old', 'guest', 0));
    await deliver(projectMemberSetV1, member(projectId, 'new', 'guest', 7));
    await deliver(projectMemberRemovedV1, { projectId, userId: 'old' });
    await deliver(projectMemberRemovedV1, { projectId, userId: 'new' });
    expect(removals).toEqual([`${projectId}/old`]);
    expect(await memberRole(ds, projectId, 'old')).toBeNull();
    expect(await memberRole(ds, projectId, 'new')).toBe('guest');
  });
});
