import 'reflect-metadata';
import { type CreateEnvironmentInput, createEnvironmentInputSchema } from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import { createServiceDataSource, migrate } from '@launchpad/persistence';
import type { DataSource } from 'typeorm';
import { ADMIN_DATABASE_URL, uniqueSuffix } from '../../../../tools/testing/harness.js';
import { environmentsEntities, environmentsMigrations } from '../environments.module.js';
import { EnvironmentEntity, toEnvironment } from './environment.entity.js';
import { environmentFromRow, type EnvironmentRow, listEnvironmentsQuery } from './environment-rows.js';
import { EnvironmentsService } from './environments.service.js';

/** Against the machine's Postgres, in a schema of its own: the catalogue's raw read against TypeORM's entities. */
describe('listing environments from raw rows', () => {
  const schema = `env_rows_${uniqueSuffix()}`;
  const admin = { userId: 'admin', admin: true };
  let ds: DataSource;
  let environments: EnvironmentsService;
  const input = (given: CreateEnvironmentInput) => createEnvironmentInputSchema.parse(given);

  /** What the list answered before: the query builder, entities hydrated, then toEnvironment. */
  async function viaEntities(query: Parameters<EnvironmentsService['list']>[0]) {
    const qb = ds.getRepository(EnvironmentEntity).createQueryBuilder('e').where(`e.kind = 'global'`);
    if (query.includeArchived !== 'true') qb.andWhere('NOT e.is_archived');
    if (query.q) {
      qb.andWhere(`(e.name ILIKE :q OR e.description ILIKE :q OR EXISTS (SELECT 1 FROM unnest(e.keywords) k WHERE k ILIKE :q))`, {
        q: `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
      });
    }
    if (query.keyword) qb.andWhere(`:keyword = ANY(e.keywords)`, { keyword: query.keyword.toLowerCase() });
    return (await qb.orderBy('e.is_default', 'DESC').addOrderBy('lower(e.name)', 'ASC').getMany()).map(toEnvironment);
  }

  beforeAll(async () => {
    ds = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema, entities: environmentsEntities, migrations: environmentsMigrations, applicationName: 'env-rows-test' });
    await ds.initialize();
    await migrate(ds, schema);
    environments = new EnvironmentsService(ds, new OutboxWriter(ds));
    await environments.create(input({ name: 'Jupyter', image: 'jupyter/base:1', port: 8888, isDefault: true, keywords: ['python'], auth: { kind: 'jupyter-token' } }), admin);
    await environments.create(
      input({
        name: 'b_torch 100%',
        description: 'GPU \\ training',
        image: 'registry.test/torch@sha256:' + 'a'.repeat(64),
        port: 8000,
        keywords: ['python', 'pytorch'],
        command: ['python', '-m', 'http.server'],
        args: ['--bind', '0.0.0.0', 'a "quoted", {braced} arg'],
        env: { A: '1', WITH_JSON: '{"x": [1, 2]}' },
        uid: 0,
        gid: 100,
        defaultUrl: '/lab',
        workingDirectory: '/home/me',
        mountDirectory: '/data',
      }),
      admin,
    );
    await environments.create(input({ name: 'archived R', image: 'rocker/r:4', port: 8787, keywords: ['r'], isArchived: true }), admin);
    // A launcher's own environments are never listed; an old row without auth reads as `none`.
    await ds.query(
      `INSERT INTO environments (kind, project_id, name, image, port, default_url, working_directory, mount_directory, uid, gid, created_by)
       VALUES ('custom', 'p1', 'Jupyter', 'x/y:1', 80, '/', '/work', '/work', 1, 1, 'u'), ('code', 'p1', 'from code', 'x/y:2', 80, '/', '/work', '/work', 1, 1, 'u')`,
    );
  });

  afterAll(async () => {
    await ds?.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds?.destroy();
  });

  it.each([
    {},
    { includeArchived: 'true' as const },
    { includeArchived: 'false' as const },
    { q: 'torch' },
    { q: '100%' },
    { q: '_' },
    { q: '\\' },
    { q: 'GPU' },
    { q: 'pytor' },
    { keyword: 'PYTHON' },
    { keyword: 'r', includeArchived: 'true' as const },
    { q: 'python', keyword: 'pytorch' },
    { q: 'nothing like it' },
  ])('answers %j exactly as the entity mapping did', async (query) => {
    const expected = await viaEntities(query);
    expect(await environments.list(query)).toEqual(expected);
  });

  it('lists the default first, then by name, archived only when asked', async () => {
    expect((await environments.list({})).map((e) => e.name)).toEqual(['Jupyter', 'b_torch 100%']);
    expect((await environments.list({ includeArchived: 'true' })).map((e) => e.name)).toEqual(['Jupyter', 'archived R', 'b_torch 100%']);
  });

  it('maps every column as toEnvironment does, version a number and dates ISO strings', async () => {
    const { sql, params } = listEnvironmentsQuery({ includeArchived: 'true' });
    const rows: EnvironmentRow[] = await ds.query(sql, params);
    const entities = await ds.getRepository(EnvironmentEntity).findBy({ kind: 'global' });
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      const mapped = environmentFromRow(row);
      expect(mapped).toStrictEqual(toEnvironment(entities.find((e) => e.id === row.id)!));
      expect(typeof mapped.version).toBe('number');
      expect(mapped.version).toBeGreaterThan(0);
    }
  });

  it('refuses a row of an environment made from code, as toEnvironment does', async () => {
    const [row] = await ds.query(`SELECT e.* FROM environments e WHERE kind = 'code'`);
    expect(() => environmentFromRow(row as EnvironmentRow)).toThrow(/made from code/);
  });
});
