import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { type Principal, SessionsError, SessionsErrorCode } from '@launchpad/contracts';
import type { RpcClient } from '@launchpad/messaging';
import { createServiceDataSource, migrate, SecretBox } from '@launchpad/persistence';
import type { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../../../tools/testing/harness.js';
import { SecretsService } from '../secrets/secrets.service.js';
import { sessionsEntities, sessionsMigrations } from '../sessions.module.js';
import { DataConnectorsService } from './data-connectors.service.js';
import { UserDataConnectorsService } from './user-data-connectors.service.js';

const dana: Principal = { userId: 'dana', admin: false };
const gus: Principal = { userId: 'gus', admin: false };
const root: Principal = { userId: 'root', admin: true };
const connector = { name: 'My notes', storageType: 'webdav', configuration: { url: 'https://dav.example.org', user: 'dana' }, sourcePath: 'notes', targetPath: 'notes', readonly: true };

const codeOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SessionsError) return error.code;
    throw error;
  }
  throw new Error('expected a refusal');
};

/** A user's own connectors on the real Postgres: the owner rule, the schema's one-owner CHECK, and what sessions mount. */
describe('user data connectors', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let secrets: SecretsService;
  let own: UserDataConnectorsService;
  let mounts: DataConnectorsService;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createServiceDataSource({ url: db.url, schema: 'sessions', entities: sessionsEntities, migrations: sessionsMigrations, applicationName: 'user-data-connectors-test' });
    await ds.initialize();
    await migrate(ds, 'sessions');
    // Only the project routes ask environments; these tests never reach it.
    secrets = new SecretsService(ds, {} as RpcClient, new SecretBox([{ id: 'k1', key: randomBytes(32) }]));
    own = new UserDataConnectorsService(ds, secrets);
    mounts = new DataConnectorsService(ds, secrets);
  });

  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  it('keeps a connector to its owner, with the owner’s storage secret as its credential, mounted in their sessions only', async () => {
    const password = await secrets.createUserSecret({ name: 'dav', value: 'dav-pw-71c2', kind: 'storage' }, dana);
    const created = await own.create({ ...connector, credentials: { pass: password.id } }, dana);
    expect(created).toMatchObject({ userId: 'dana', targetPath: 'notes', credentials: { pass: password.id } });
    for (const stranger of [gus, root]) {
      expect(await codeOf(own.get(created.id, stranger))).toBe(SessionsErrorCode.DATA_CONNECTOR_NOT_FOUND);
      expect(await codeOf(own.update(created.id, { readonly: false }, stranger))).toBe(SessionsErrorCode.DATA_CONNECTOR_NOT_FOUND);
      expect(await codeOf(own.delete(created.id, stranger))).toBe(SessionsErrorCode.DATA_CONNECTOR_NOT_FOUND);
      expect(await own.list(stranger)).toEqual([]);
    }
    const mine = await mounts.mountsFor(ds.manager, '42', 'dana', []);
    expect(mine).toEqual([{ name: 'My notes', storageType: 'webdav', configuration: { ...connector.configuration, pass: 'dav-pw-71c2' }, sourcePath: 'notes', targetPath: 'notes', readonly: true }]);
    expect(await mounts.mountsFor(ds.manager, '42', 'gus', [])).toEqual([]);
  });

  it('refuses another user’s secret as a credential, and a second connector at the same name or target', async () => {
    const his = await secrets.createUserSecret({ name: 'his', value: 'x', kind: 'storage' }, gus);
    expect(await codeOf(own.create({ ...connector, name: 'Stolen', targetPath: 'stolen', credentials: { pass: his.id } }, dana))).toBe(SessionsErrorCode.SECRET_NOT_FOUND);
    expect(await own.list(dana)).toHaveLength(1);
    expect(await codeOf(own.create({ ...connector, name: 'Again', credentials: {} }, dana))).toBe(SessionsErrorCode.DATA_CONNECTOR_TAKEN);
    expect(await codeOf(own.create({ ...connector, targetPath: 'again', credentials: {} }, dana))).toBe(SessionsErrorCode.DATA_CONNECTOR_TAKEN);
    // Another user may use the same name and target for their own.
    expect((await own.create({ ...connector, credentials: {} }, gus)).userId).toBe('gus');
  });

  it('refuses at launch a project’s connector and the user’s own at one target', async () => {
    const now = new Date();
    await ds.query(
      `INSERT INTO sessions.data_connectors (id, project_id, name, storage_type, configuration, source_path, target_path, readonly, created_by, created_at, updated_at)
       VALUES (gen_random_uuid(), '42', 'Project notes', 'webdav', '{}', '', 'notes', true, 'olivia', $1, $1)`,
      [now],
    );
    expect(await codeOf(mounts.mountsFor(ds.manager, '42', 'dana', []))).toBe(SessionsErrorCode.DATA_CONNECTOR_TARGET_CLASH);
    // In another project, hers alone.
    expect((await mounts.mountsFor(ds.manager, '43', 'dana', [])).map((m) => m.name)).toEqual(['My notes']);
  });

  it('a connector has exactly one owner: a project or a user', async () => {
    const insert = (projectId: string | null, userId: string | null) =>
      ds.query(
        `INSERT INTO sessions.data_connectors (id, project_id, user_id, name, storage_type, configuration, source_path, target_path, readonly, created_by, created_at, updated_at)
         VALUES (gen_random_uuid(), $1, $2, $3, 'webdav', '{}', '', $3, true, 'x', now(), now())`,
        [projectId, userId, `n${Math.random().toString(36).slice(2, 8)}`],
      );
    await expect(insert(null, null)).rejects.toThrow(/data_connectors_one_owner/);
    await expect(insert('42', 'dana')).rejects.toThrow(/data_connectors_one_owner/);
    await expect(insert('42', null)).resolves.toBeDefined();
    await expect(insert(null, 'dana')).resolves.toBeDefined();
  });
});
