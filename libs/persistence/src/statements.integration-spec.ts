import 'reflect-metadata';
import type { DataSource } from 'typeorm';
import { ADMIN_DATABASE_URL, uniqueSuffix } from '../../../tools/testing/harness.js';
import { createServiceDataSource } from './data-source.js';
import { runTogether } from './statements.js';

/** Against the machine's Postgres, in a schema of its own. */
describe('runTogether: several writes as one statement', () => {
  const schema = `stmt_test_${uniqueSuffix()}`;
  let ds: DataSource;

  beforeAll(async () => {
    ds = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema, entities: [], migrations: [], applicationName: 'statements-test' });
    await ds.initialize();
    await ds.query(`CREATE SCHEMA "${schema}"`);
    await ds.query(`CREATE TABLE "${schema}".a (id text PRIMARY KEY, n integer NOT NULL)`);
    await ds.query(`CREATE TABLE "${schema}".b (id text PRIMARY KEY, note text NOT NULL)`);
    await ds.query(`INSERT INTO "${schema}".b VALUES ('x', 'old')`);
  });

  afterAll(async () => {
    await ds?.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds?.destroy();
  });

  it('applies every statement, each with its own parameters renumbered', async () => {
    await ds.transaction((m) =>
      runTogether(m, [
        { sql: `INSERT INTO "${schema}".a (id, n) VALUES ($1, $2)`, params: ['one', 1] },
        { sql: `UPDATE "${schema}".b SET note = $2 WHERE id = $1`, params: ['x', 'new'] },
        { sql: `INSERT INTO "${schema}".a (id, n) VALUES ($1, $2)`, params: ['two', 2] },
      ]),
    );
    expect(await ds.query(`SELECT id, n FROM "${schema}".a ORDER BY n`)).toEqual([{ id: 'one', n: 1 }, { id: 'two', n: 2 }]);
    expect(await ds.query(`SELECT note FROM "${schema}".b WHERE id = 'x'`)).toEqual([{ note: 'new' }]);
  });

  it('applies none when one fails', async () => {
    await expect(
      runTogether(ds.manager, [
        { sql: `UPDATE "${schema}".b SET note = $2 WHERE id = $1`, params: ['x', 'lost'] },
        { sql: `INSERT INTO "${schema}".a (id, n) VALUES ($1, $2)`, params: ['one', 3] },
      ]),
    ).rejects.toThrow(/duplicate key/);
    expect(await ds.query(`SELECT note FROM "${schema}".b WHERE id = 'x'`)).toEqual([{ note: 'new' }]);
  });

  it('runs one statement as it is, and none as nothing', async () => {
    await runTogether(ds.manager, []);
    await runTogether(ds.manager, [{ sql: `UPDATE "${schema}".a SET n = $2 WHERE id = $1`, params: ['two', 20] }]);
    expect(await ds.query(`SELECT n FROM "${schema}".a WHERE id = 'two'`)).toEqual([{ n: 20 }]);
  });
});
