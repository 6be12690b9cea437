import 'reflect-metadata';
import {
  DEFAULT_REPOSITORY_URL_POLICY,
  type Envelope,
  type EventContract,
  type EventData,
  gitlabMemberAddedV1,
  gitlabMemberRemovedV1,
  gitlabMemberUpdatedV1,
  gitlabProjectCreatedV1,
  gitlabProjectDestroyedV1,
  gitlabProjectRenamedV1,
  gitlabUserDestroyedV1,
  gitlabUserRenamedV1,
} from '@launchpad/contracts';
import { buildEnvelope, OutboxWriter } from '@launchpad/messaging';
import { createServiceDataSource, migrate } from '@launchpad/persistence';
import type { DataSource } from 'typeorm';
import { ADMIN_DATABASE_URL, uniqueSuffix } from '../../../../tools/testing/harness.js';
import { environmentsEntities, environmentsMigrations } from '../environments.module.js';
import { ProjectsService } from '../projects/projects.service.js';
import { GitLabConsumer } from './gitlab.consumer.js';
import { GitLabPlaces } from './gitlab-places.js';
import { GitLabProjection } from './gitlab-projection.js';

const at = (minute: number) => `2026-11-25T12:${String(minute).padStart(2, '0')}:00.000Z`;
const place = (minute: number, rank: number) => ({ at: at(minute), rank });
const gitlabProject = (projectId: string, path: string) => ({
  projectId,
  path,
  name: path,
  visibility: 'private' as const,
  repositoryUrl: `https://gitlab.test/${path}.git`,
});
const event = <C extends EventContract>(contract: C, data: EventData<C>): Envelope => buildEnvelope(contract, data) as Envelope;

/** GitLab's history, each change with its place (builds' order), not all of it in that order. */
const HISTORY: Envelope[] = [
  event(gitlabProjectCreatedV1, { ...gitlabProject('8001', 'lab/p'), previousRepositoryUrl: null, place: place(0, 0) }),
  event(gitlabMemberAddedV1, { projectId: '8001', userId: 'alice', role: 'guest', project: gitlabProject('8001', 'lab/p'), place: place(1, 0) }),
  event(gitlabMemberAddedV1, { projectId: '8001', userId: 'bob', role: 'owner', project: gitlabProject('8001', 'lab/p'), place: place(1, 0) }),
  event(gitlabMemberUpdatedV1, { projectId: '8001', userId: 'alice', role: 'developer', project: gitlabProject('8001', 'lab/p'), place: place(2, 1) }),
  event(gitlabMemberRemovedV1, { projectId: '8001', userId: 'alice', place: place(3, 2) }),
  event(gitlabMemberAddedV1, { projectId: '8001', userId: 'alice', role: 'reporter', project: gitlabProject('8001', 'lab/p'), place: place(4, 0) }),
  event(gitlabMemberRemovedV1, { projectId: '8001', userId: 'bob', place: place(5, 2) }),
  event(gitlabProjectRenamedV1, { ...gitlabProject('8001', 'lab/p-renamed'), previousRepositoryUrl: 'https://gitlab.test/lab/p.git', place: place(6, 1) }),
  event(gitlabMemberAddedV1, { projectId: '8001', userId: 'carol', role: 'maintainer', project: gitlabProject('8001', 'lab/p-renamed'), place: place(7, 0) }),
  event(gitlabProjectCreatedV1, { ...gitlabProject('8002', 'lab/gone'), previousRepositoryUrl: null, place: place(0, 0) }),
  event(gitlabMemberAddedV1, { projectId: '8002', userId: 'dave', role: 'owner', project: gitlabProject('8002', 'lab/gone'), place: place(1, 0) }),
  event(gitlabMemberUpdatedV1, { projectId: '8002', userId: 'dave', role: 'guest', project: gitlabProject('8002', 'lab/gone'), place: place(2, 1) }),
  event(gitlabProjectDestroyedV1, { projectId: '8002', path: 'lab/gone', place: place(3, 2) }),
  event(gitlabMemberAddedV1, { projectId: '8003', userId: 'erin', role: 'guest', project: gitlabProject('8003', 'lab/three'), place: place(2, 0) }),
  // Users: alice renamed alicia (her memberships go with her), frank destroyed (his go with him).
  event(gitlabUserRenamedV1, { from: 'alice', to: 'alicia', place: place(8, 1) }),
  event(gitlabMemberAddedV1, { projectId: '8003', userId: 'alice', role: 'developer', project: gitlabProject('8003', 'lab/three'), place: place(5, 0) }),
  event(gitlabMemberAddedV1, { projectId: '8003', userId: 'alicia', role: 'owner', project: gitlabProject('8003', 'lab/three'), place: place(9, 0) }),
  event(gitlabMemberAddedV1, { projectId: '8001', userId: 'frank', role: 'developer', project: gitlabProject('8001', 'lab/p'), place: place(2, 0) }),
  event(gitlabMemberAddedV1, { projectId: '8003', userId: 'frank', role: 'guest', project: gitlabProject('8003', 'lab/three'), place: place(3, 0) }),
  event(gitlabMemberRemovedV1, { projectId: '8003', userId: 'frank', place: place(4, 2) }),
  event(gitlabUserDestroyedV1, { userId: 'frank', place: place(6, 2) }),
];

function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Every replica of environments consumes builds.gitlab.* from one durable. Delivered shuffled,
 * each up to three times, to two replicas at once, GitLab's history ends where it ends when
 * applied in GitLab's order.
 */
describe('the projects and members projection from GitLab, consumed by two replicas', () => {
  const suffix = uniqueSuffix();
  const sources: DataSource[] = [];

  const open = async (schema: string, name: string) => {
    const ds = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema, entities: environmentsEntities, migrations: environmentsMigrations, applicationName: name });
    await ds.initialize();
    await migrate(ds, schema);
    sources.push(ds);
    const outbox = new OutboxWriter(ds);
    const consumer = new GitLabConsumer(ds, outbox, new GitLabProjection(new ProjectsService(ds, outbox, DEFAULT_REPOSITORY_URL_POLICY), new GitLabPlaces()));
    return { ds, consumer };
  };
  const state = async (ds: DataSource) => ({
    projects: await ds.query(`SELECT id, path, visibility, repositories FROM projects ORDER BY id`),
    members: await ds.query(`SELECT project_id, user_id, role FROM project_members ORDER BY 1, 2`),
  });

  afterAll(async () => {
    for (const ds of sources) {
      await ds.query(`DROP SCHEMA IF EXISTS "${ds.driver.schema}" CASCADE`);
      await ds.destroy();
    }
  });

  let inOrder: Awaited<ReturnType<typeof state>>;

  beforeAll(async () => {
    const serial = await open(`env_gitlab_serial_${suffix}`, 'gitlab-order-serial');
    const placeOf = (e: Envelope) => (e.data as { place: { at: string; rank: number } }).place;
    const inGitLabOrder = [...HISTORY].sort((a, b) => placeOf(a).at.localeCompare(placeOf(b).at) || placeOf(a).rank - placeOf(b).rank);
    for (const e of inGitLabOrder) await serial.consumer.handle(e);
    inOrder = await state(serial.ds);
  });

  it('applied in GitLab’s order, ends as GitLab has it', () => {
    expect(inOrder.members).toEqual([
      { project_id: '8001', user_id: 'alicia', role: 'reporter' },
      { project_id: '8001', user_id: 'carol', role: 'maintainer' },
      { project_id: '8003', user_id: 'alicia', role: 'owner' },
      { project_id: '8003', user_id: 'erin', role: 'guest' },
    ]);
    expect(inOrder.projects.map((p: { id: string; path: string }) => [p.id, p.path])).toEqual([
      ['8001', 'lab/p-renamed'],
      ['8003', 'lab/three'],
    ]);
  });

  for (const seed of [1, 2, 3, 4]) {
    it(`ends the same when delivered shuffled and duplicated to two replicas at once (seed ${seed})`, async () => {
      const schema = `env_gitlab_${seed}_${suffix}`;
      const replicas = [await open(schema, `gitlab-order-a-${seed}`), await open(schema, `gitlab-order-b-${seed}`)];
      const next = random(seed);
      const queue = HISTORY.flatMap((e) => Array.from({ length: 1 + Math.floor(next() * 3) }, () => e));
      for (let i = queue.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [queue[i], queue[j]] = [queue[j]!, queue[i]!];
      }
      const failures: string[] = [];
      await Promise.all(
        replicas.map(async ({ consumer }) => {
          for (let e = queue.shift(); e; e = queue.shift()) await consumer.handle(e).catch((error: unknown) => failures.push((error as Error).message));
        }),
      );
      expect(failures).toEqual([]);
      expect(await state(replicas[0]!.ds)).toEqual(inOrder);
    });
  }
});
