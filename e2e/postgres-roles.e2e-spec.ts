import pg from 'pg';
import { DATABASE_SERVICES } from '@launchpad/persistence';
import { startPlatform, type TestPlatform } from '../tools/testing/platform.js';

/**
 * Each service connects to Postgres as its own role (tools/dev/postgres-roles.js, as npm start and
 * every suite run them), and that role has rights on its own schema only: a service tricked into
 * running SQL of someone else's choosing reads and changes nothing of another service's.
 */
describe('a Postgres role per service', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    // Every service up, migrated by its own role: the migrations need no more than their own schema.
    p = await startPlatform({}, { services: ['sessions', 'apps', 'builds'] });
  }, 180_000);

  afterAll(async () => {
    await p?.stop();
  });

  const as = async <T>(service: string, use: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: p.db.serviceUrl(service) });
    await client.connect();
    try {
      return await use(client);
    } finally {
      await client.end();
    }
  };
  const refusal = (client: pg.Client, sql: string) => client.query(sql).then(() => 'allowed', (error: { code?: string; message: string }) => `${error.code}: ${error.message}`);

  it("lets no service read or change another service's schema", async () => {
    for (const a of DATABASE_SERVICES) {
      await as(a, async (client) => {
        for (const b of DATABASE_SERVICES.filter((s) => s !== a)) {
          // Every schema has its outbox: the one table name each is sure to hold.
          expect(await refusal(client, `SELECT * FROM "${b}".outbox LIMIT 1`)).toBe(`42501: permission denied for schema ${b}`);
          expect(await refusal(client, `DELETE FROM "${b}".outbox`)).toBe(`42501: permission denied for schema ${b}`);
          expect(await refusal(client, `CREATE TABLE "${b}".planted (x int)`)).toBe(`42501: permission denied for schema ${b}`);
        }
      });
    }
  });

  it('gives each service its own schema, and no other place to put tables nor a way to more rights', async () => {
    for (const service of DATABASE_SERVICES) {
      await as(service, async (client) => {
        const own = await client.query(`SELECT count(*)::int AS n FROM outbox`);
        expect(own.rows[0].n).toBeGreaterThanOrEqual(0);
        expect((await client.query(`SELECT current_schema() AS s`)).rows[0].s).toBe(service);
        expect(await refusal(client, `CREATE TABLE public.planted (x int)`)).toBe('42501: permission denied for schema public');
        expect(await refusal(client, `CREATE SCHEMA planted`)).toMatch(/^42501: permission denied for database/);
        expect(await refusal(client, `SET ROLE postgres`)).toMatch(/^42501: permission denied to set role "postgres"/);
        expect(await refusal(client, `CREATE ROLE planted`)).toMatch(/^42501: permission denied to create role/);
      });
    }
  });

  it('keeps other roles out of the database altogether', async () => {
    const admin = new pg.Client({ connectionString: p.db.url });
    await admin.connect();
    try {
      const { rows } = await admin.query(`SELECT has_database_privilege('public', current_database(), 'CONNECT') AS public_may_connect`);
      expect(rows[0].public_may_connect).toBe(false);
      const owners = await admin.query(`SELECT nspname AS schema, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = ANY($1) ORDER BY nspname`, [DATABASE_SERVICES]);
      expect(owners.rows).toEqual([...DATABASE_SERVICES].sort().map((s) => ({ schema: s, owner: `${p.db.name}_${s}` })));
    } finally {
      await admin.end();
    }
  });
});
