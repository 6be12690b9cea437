import 'reflect-metadata';
import { Column, type DataSource, Entity, type EntityManager, PrimaryColumn } from 'typeorm';
import { ADMIN_DATABASE_URL, uniqueSuffix } from '../../../tools/testing/harness.js';
import { createServiceDataSource } from './data-source.js';
import { insertNew, prepared, queryRows, readRows, runTogether, updateWhole, updateWholeStatement, withPoolClient } from './statements.js';
import { sqlStateOf } from './transient-errors.js';

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

@Entity({ name: 'notes' })
class NoteEntity {
  @PrimaryColumn({ type: 'text' }) id!: string;
  @Column({ type: 'text' }) title!: string;
  @Column({ type: 'text', nullable: true }) body!: string | null;
  @Column({ type: 'jsonb', nullable: true }) tags!: string[] | null;
  @Column({ type: 'integer', transformer: { to: (v: number) => v * 10, from: (v: number) => v / 10 } }) size!: number;
}

/** What save() would do, without its SELECT first: against the machine's Postgres. */
describe('insertNew and updateWhole', () => {
  const schema = `stmt_entity_test_${uniqueSuffix()}`;
  let ds: DataSource;
  const statements: string[] = [];

  beforeAll(async () => {
    ds = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema, entities: [NoteEntity], migrations: [], applicationName: 'statements-test' });
    await ds.initialize();
    await ds.query(`CREATE SCHEMA "${schema}"`);
    await ds.query(`CREATE TABLE "${schema}".notes (id text PRIMARY KEY, title text NOT NULL, body text, tags jsonb, size integer NOT NULL)`);
  });

  afterAll(async () => {
    await ds?.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds?.destroy();
  });

  /** The statements a transaction sent (each query of its runner). */
  async function counted<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return ds.transaction(async (manager) => {
      const runner = manager.queryRunner!;
      const original = runner.query.bind(runner);
      runner.query = ((sql: string, params?: unknown[], structured?: boolean) => {
        statements.push(sql);
        return original(sql, params, structured as never);
      }) as typeof runner.query;
      return work(manager);
    });
  }

  it('inserts with one statement and leaves unset nullable columns null, as save would', async () => {
    statements.length = 0;
    const note = ds.manager.create(NoteEntity, { id: 'n1', title: 'first', size: 2 });
    await counted((m) => insertNew(m, NoteEntity, note));
    expect(statements.filter((sql) => /^\s*(SELECT|INSERT|UPDATE)/i.test(sql))).toHaveLength(1);
    expect(note.body).toBeNull();
    expect(note.tags).toBeNull();
    expect(await ds.query(`SELECT id, title, body, tags, size FROM "${schema}".notes`)).toEqual([{ id: 'n1', title: 'first', body: null, tags: null, size: 20 }]);
  });

  it('writes every column the caller changed, with one statement and through the column transformers', async () => {
    statements.length = 0;
    await counted(async (m) => {
      const note = (await m.findOneBy(NoteEntity, { id: 'n1' }))!;
      Object.assign(note, { title: 'renamed', body: 'text', tags: ['a', 'b'], size: 3 });
      const before = statements.length;
      await updateWhole(m, NoteEntity, note);
      expect(statements.length - before).toBe(1);
    });
    expect(await ds.query(`SELECT id, title, body, tags, size FROM "${schema}".notes`)).toEqual([{ id: 'n1', title: 'renamed', body: 'text', tags: ['a', 'b'], size: 30 }]);
    const read = await ds.manager.findOneBy(NoteEntity, { id: 'n1' });
    expect(read).toMatchObject({ title: 'renamed', body: 'text', tags: ['a', 'b'], size: 3 });
  });

  it('runs the same UPDATE as one item of a statement with other writes (runTogether), transformers and JSON included', async () => {
    statements.length = 0;
    await counted(async (m) => {
      const note = (await m.findOneBy(NoteEntity, { id: 'n1' }))!;
      Object.assign(note, { title: 'together', tags: ['c'], size: 4 });
      const before = statements.length;
      await runTogether(m, [
        { sql: `INSERT INTO "${schema}".notes (id, title, size) VALUES ($1, $2, $3)`, params: ['n3', 'third', 10] },
        updateWholeStatement(m, NoteEntity, note),
      ]);
      expect(statements.length - before).toBe(1);
    });
    expect(await ds.query(`SELECT id, title, tags, size FROM "${schema}".notes WHERE id IN ('n1', 'n3') ORDER BY id`)).toEqual([
      { id: 'n1', title: 'together', tags: ['c'], size: 40 },
      { id: 'n3', title: 'third', tags: null, size: 10 },
    ]);
    await ds.query(`DELETE FROM "${schema}".notes WHERE id = 'n3'`);
  });

  it('sets a column back to null, and touches no other row', async () => {
    await insertNew(ds.manager, NoteEntity, ds.manager.create(NoteEntity, { id: 'n2', title: 'second', body: 'kept', size: 1 }));
    const note = (await ds.manager.findOneBy(NoteEntity, { id: 'n1' }))!;
    note.body = null;
    await updateWhole(ds.manager, NoteEntity, note);
    expect(await ds.query(`SELECT id, body FROM "${schema}".notes ORDER BY id`)).toEqual([{ id: 'n1', body: null }, { id: 'n2', body: 'kept' }]);
  });
});

/** Reads on the pool, against the machine's Postgres. */
describe('readRows', () => {
  const schema = `stmt_read_test_${uniqueSuffix()}`;
  let ds: DataSource;

  beforeAll(async () => {
    ds = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema, entities: [], migrations: [], applicationName: 'statements-test' });
    await ds.initialize();
    await ds.query(`CREATE SCHEMA "${schema}"`);
    await ds.query(`CREATE TABLE "${schema}".r (id text PRIMARY KEY, tags text[] NOT NULL, at timestamptz NOT NULL, doc jsonb, n bigint NOT NULL)`);
    await ds.query(`INSERT INTO "${schema}".r VALUES ('a', '{x,"y z"}', '2026-01-02T03:04:05.678Z', '{"k": [1]}', 9007199254740993), ('b', '{}', '2026-01-01T00:00:00Z', NULL, 2)`);
  });

  afterAll(async () => {
    await ds?.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds?.destroy();
  });

  it('answers the rows dataSource.query answers, in the service schema (its search_path), with pg types', async () => {
    const sql = `SELECT id, tags, at, doc, n FROM r WHERE id = ANY($1) ORDER BY id`;
    const rows = await readRows<{ id: string; tags: string[]; at: Date; doc: unknown; n: string }>(ds, sql, [['a', 'b']]);
    expect(rows).toEqual(await ds.query(sql, [['a', 'b']]));
    expect(rows[0]).toEqual({ id: 'a', tags: ['x', 'y z'], at: new Date('2026-01-02T03:04:05.678Z'), doc: { k: [1] }, n: '9007199254740993' });
    expect(rows[1]!.doc).toBeNull();
  });

  it('fails with the SQL state of what Postgres refused', async () => {
    const error = await readRows(ds, `SELECT nope FROM r`).catch((e: unknown) => e);
    expect(sqlStateOf(error)).toBe('42703');
  });

  it('a prepared statement answers as its text does, and stays parsed on the connection that ran it', async () => {
    const text = `SELECT id, n FROM r WHERE id = $1`;
    const statement = prepared(text);
    expect(prepared(text)).toBe(statement);
    expect(await readRows(ds, statement, ['a'])).toEqual(await readRows(ds, text, ['a']));
    const seen = await ds.transaction(async (m) => {
      await queryRows(m, statement, ['b']);
      return queryRows<{ statement: string }>(m, `SELECT statement FROM pg_prepared_statements WHERE name = $1`, [statement.name]);
    });
    expect(seen).toEqual([{ statement: text }]);
  });

  it('a prepared statement whose table a migration changed under a running service fails once on a connection, not for ever', async () => {
    // One connection, so that the statement is prepared where it is run again.
    const one = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema, entities: [], migrations: [], applicationName: 'statements-test', poolSize: 1 });
    await one.initialize();
    try {
      await one.query(`CREATE TABLE "${schema}".migrated (id text PRIMARY KEY, v integer)`);
      await one.query(`INSERT INTO "${schema}".migrated VALUES ('a', 1)`);
      const statement = prepared(`SELECT v FROM migrated WHERE id = $1`);
      expect(await readRows(one, statement, ['a'])).toEqual([{ v: 1 }]);
      await one.query(`ALTER TABLE "${schema}".migrated ALTER COLUMN v TYPE text`);
      // Postgres refuses the plan it kept, once: the next run (the caller's retry, GitLab's) is planned anew.
      expect(sqlStateOf(await readRows(one, statement, ['a']).catch((e: unknown) => e))).toBe('0A000');
      expect(await readRows(one, statement, ['a'])).toEqual([{ v: '1' }]);
      expect(await readRows(one, statement, ['a'])).toEqual([{ v: '1' }]);
    } finally {
      await one.destroy();
    }
  });

  it('queryRows runs in the caller\'s transaction: what it wrote is undone with it', async () => {
    const insert = prepared(`INSERT INTO r (id, tags, at, n) VALUES ($1, '{}', now(), 0)`);
    await expect(
      ds.transaction(async (m) => {
        await queryRows(m, insert, ['undone']);
        expect(await queryRows(m, `SELECT id FROM r WHERE id = $1`, ['undone'])).toEqual([{ id: 'undone' }]);
        throw new Error('changed our mind');
      }),
    ).rejects.toThrow('changed our mind');
    expect(await readRows(ds, `SELECT id FROM r WHERE id = $1`, ['undone'])).toEqual([]);
  });

  it('withPoolClient runs several statements in one round trip, and drops a connection left inside a transaction', async () => {
    const [, answer] = (await withPoolClient(ds, (client) => client.query(`BEGIN; SELECT count(*)::int AS n FROM r; COMMIT`))) as { rows: unknown[] }[];
    expect(answer!.rows).toEqual([{ n: 2 }]);
    await expect(
      withPoolClient(ds, async (client) => {
        await client.query(`BEGIN; INSERT INTO r (id, tags, at, n) VALUES ('left', '{}', now(), 0)`);
        throw new Error('gave up mid-way');
      }),
    ).rejects.toThrow('gave up mid-way');
    expect(await readRows(ds, `SELECT id FROM r WHERE id = 'left'`)).toEqual([]);
  });
});
