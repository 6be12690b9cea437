import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { catalogueEntities, catalogueMigrations, CatalogueService } from '@launchpad/catalogue';
import { environmentsRpc, type Launcher, type RpcContract } from '@launchpad/contracts';
import { CreateMessagingTables1764000000000, OutboxWriter, type RpcClient } from '@launchpad/messaging';
import { createServiceDataSource, migrate } from '@launchpad/persistence';
import type { Runtime } from '@launchpad/runtime';
import type { DataSource } from 'typeorm';
import { ADMIN_DATABASE_URL, uniqueSuffix, waitFor } from '../../../../tools/testing/harness.js';
import type { Routes } from '../routing/route-source.js';
import { AppEntity } from './app.entity.js';
import type { AppLogFollows } from './app-log-follow.js';
import { AppsService } from './apps.service.js';
import { CreateApps1764000002100 } from './migrations/1764000002100-CreateApps.js';

const NOW = '2026-11-25T12:00:00.000Z';
const dana = { userId: 'dana', admin: false };

const launcherOf = (id: string): Launcher => ({
  id,
  projectId: '42',
  name: 'Board',
  description: null,
  kind: 'app',
  isDefault: false,
  resourceClassId: null,
  environment: {
    id: randomUUID(),
    kind: 'custom',
    projectId: '42',
    name: 'board',
    description: null,
    keywords: [],
    isDefault: false,
    isArchived: false,
    auth: { kind: 'none' },
    image: 'ghcr.io/lab/board:1',
    port: 8000,
    defaultUrl: '/',
    workingDirectory: '/work',
    mountDirectory: '/work',
    uid: 1000,
    gid: 1000,
    command: ['node', 'app.js'],
    args: [],
    env: {},
    createdBy: 'dana',
    createdAt: NOW,
    updatedAt: NOW,
    version: 1,
  },
  createdBy: 'dana',
  createdAt: NOW,
  updatedAt: NOW,
  pin: null,
  updateAvailable: null,
  envVariables: [],
  diskStorageGb: null,
  idleThresholdS: null,
  hibernationThresholdS: null,
  version: 1,
});

/** AppsService on a real Postgres schema of its own; environments (RPC), the runtime and the route broadcast are stand-ins. */
describe('AppsService against real Postgres', () => {
  const schema = `apps_test_${uniqueSuffix()}`;
  let ds: DataSource;
  let catalogue: CatalogueService;
  let apps: AppsService;
  /** Runs while the caller's project is looked up, between authorisation and the activation's transaction. */
  let duringLookup: () => Promise<void>;

  beforeAll(async () => {
    ds = createServiceDataSource({
      url: ADMIN_DATABASE_URL,
      schema,
      entities: [...catalogueEntities, AppEntity],
      migrations: [CreateMessagingTables1764000000000, ...catalogueMigrations, CreateApps1764000002100],
      applicationName: 'apps-service-test',
    });
    await ds.initialize();
    await migrate(ds, schema);
    catalogue = new CatalogueService();
    const rpc = {
      call: async (contract: RpcContract, request: { id?: string }) => {
        if (contract === environmentsRpc.getLauncher) return launcherOf(request.id!);
        await duringLookup();
        return { id: '42', path: 'lab/study', name: 'Study', visibility: 'public', repositories: [], createdAt: NOW, updatedAt: NOW, role: 'owner' };
      },
    } as unknown as RpcClient;
    const routes = { publish: async () => undefined } as unknown as Routes;
    const runtime = { list: async () => [] } as unknown as Runtime;
    apps = new AppsService(ds, rpc, new OutboxWriter(ds), catalogue, routes, runtime, {} as AppLogFollows);
  });

  beforeEach(() => (duringLookup = async () => undefined));

  afterAll(async () => {
    await ds?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await ds?.destroy();
  });

  /** What the catalogue projection does with environments.launcher.deleted: in one transaction, the copy goes, then the app. */
  const deleteLauncher = (id: string) =>
    ds.transaction(async (manager) => {
      await catalogue.deleteLauncher(manager, id);
      await apps.retire({ manager, afterCommit: () => undefined }, id);
    });

  it('activates an app, and the launcher’s deletion removes it', async () => {
    const id = randomUUID();
    expect(await apps.activate(id, {}, dana)).toMatchObject({ status: 'active', slug: `lab-study-board--${id.replace(/-/g, '').slice(0, 12)}` });
    await deleteLauncher(id);
    expect(await ds.getRepository(AppEntity).findOneBy({ launcherId: id })).toBeNull();
  });

  it('does not activate an app whose launcher is deleted while the activation is under way', async () => {
    const id = randomUUID();
    // Environments still had the launcher when asked; it is deleted (and the deletion applied here) just after.
    duringLookup = () => deleteLauncher(id);
    await expect(apps.activate(id, {}, dana)).rejects.toMatchObject({ code: 'LAUNCHER_NOT_FOUND' });
    expect(await ds.getRepository(AppEntity).findOneBy({ launcherId: id })).toBeNull();
    expect(await catalogue.launcher(ds.manager, id)).toBeNull();
    // A late copy of the launcher does not bring it back either.
    await catalogue.upsertLauncher(ds.manager, { ...launcherOf(id), updatedAt: '2026-11-25T13:00:00.000Z' });
    expect(await catalogue.launcher(ds.manager, id)).toBeNull();
  });

  it('removes an app whose activation commits while the launcher’s deletion is under way', async () => {
    const id = randomUUID();
    let deletion: Promise<void> | undefined;
    let checks = 0;
    const check = catalogue.isLauncherDeleted.bind(catalogue);
    // Inside the activation's transaction, once it holds the app's lock (and the copy's row): the
    // deletion starts, and has to wait for the activation (on the copy's row, which it writes first).
    catalogue.isLauncherDeleted = async (manager, launcherId) => {
      if (launcherId === id && ++checks === 1) {
        deletion = deleteLauncher(id);
        await waitFor(
          'the deletion to wait for the activation',
          async () =>
            (await ds.query(`SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.application_name = 'apps-service-test'`)).length > 0,
          10_000,
          20,
        );
      }
      return check(manager, launcherId);
    };
    try {
      expect(await apps.activate(id, {}, dana)).toMatchObject({ status: 'active' });
      await deletion;
    } finally {
      catalogue.isLauncherDeleted = check;
    }
    expect(checks).toBe(1);
    expect(await ds.getRepository(AppEntity).findOneBy({ launcherId: id })).toBeNull();
  });
});
