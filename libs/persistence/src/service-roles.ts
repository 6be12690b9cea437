import pg from 'pg';

/**
 * A Postgres role per service, with rights on its own schema only: the service's role owns its
 * schema (so that it, or the migrations Job connecting as it, can migrate it) and has nothing on
 * any other schema, on `public`, or on the database beyond connecting. A service that is tricked
 * into running SQL of someone else's choosing still cannot read another service's tables.
 *
 * One piece of code sets this up wherever Launchpad runs: `npm start` and the test harness (through
 * tools/dev/postgres-roles.js), docker compose and the Kubernetes migrations Job (through
 * `node libs/persistence/dist/service-roles-command.js`, which every image holds). It is idempotent:
 * run it before every start and release.
 */

/** The services that own a schema (the gateway has none). */
export const DATABASE_SERVICES = ['environments', 'sessions', 'apps', 'builds'] as const;

export interface ServiceRole {
  /** The schema the service owns (its name). */
  schema: string;
  /** The role it connects as, e.g. `launchpad_sessions`. */
  role: string;
  /** Set as the role's password; null leaves it as it is (a server that trusts its clients). */
  password: string | null;
}

/** The role and password a service's DATABASE_URL names: what the service connects as. */
export function serviceRoleFromUrl(schema: string, url: string): ServiceRole {
  const parsed = new URL(url);
  const role = decodeURIComponent(parsed.username);
  if (!role) throw new Error(`the database URL for ${schema} names no user: give it the service's own role, e.g. postgres://launchpad_${schema}:<password>@host/db`);
  if (role === 'postgres') throw new Error(`the database URL for ${schema} names "postgres": give the service a role of its own`);
  return { schema, role, password: parsed.password ? decodeURIComponent(parsed.password) : null };
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** What `ensureServiceRoles` runs for one database and its services, statement by statement (for review and tests). */
export function serviceRoleStatements(database: string, roles: readonly ServiceRole[]): string[] {
  const db = ident(database);
  const statements = [
    // Nobody but the roles granted below (and superusers) may connect or make temporary tables.
    `REVOKE ALL ON DATABASE ${db} FROM PUBLIC`,
    // No role may put objects in public (Postgres 15 does this already; older ones did not).
    `REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
  ];
  for (const { schema, role, password } of roles) {
    const r = ident(role);
    const s = ident(schema);
    statements.push(
      `ALTER ROLE ${r} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT${password !== null ? ` PASSWORD ${literal(password)}` : ''}`,
      `GRANT CONNECT ON DATABASE ${db} TO ${r}`,
      `CREATE SCHEMA IF NOT EXISTS ${s} AUTHORIZATION ${r}`,
      `ALTER SCHEMA ${s} OWNER TO ${r}`,
      `REVOKE ALL ON SCHEMA ${s} FROM PUBLIC`,
      `ALTER ROLE ${r} IN DATABASE ${db} SET search_path = ${s}`,
    );
  }
  return statements;
}

/** A pg error code, if any. */
const codeOf = (error: unknown) => (error as { code?: string }).code;

/**
 * Creates (or updates) each service's role and gives it its schema, in the database `adminUrl`
 * names; `adminUrl` must be a role that may create roles (e.g. `postgres`). Objects that an
 * earlier installation made in a schema as another role are handed to the service's role, so that
 * its next migration may change them.
 */
export async function ensureServiceRoles(adminUrl: string, roles: readonly ServiceRole[], log: (line: string) => void = () => undefined): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    for (const { role } of roles) {
      const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (exists.rowCount) continue;
      // Two installers at once: the second finds the role made.
      await client.query(`CREATE ROLE ${ident(role)} LOGIN`).catch((error: unknown) => {
        if (codeOf(error) !== '42710' && codeOf(error) !== '23505') throw error;
      });
      log(`created Postgres role ${role}`);
    }
    for (const statement of serviceRoleStatements(database, roles)) await client.query(statement);
    for (const { schema, role } of roles) await handOver(client, schema, role, log);
  } finally {
    await client.end();
  }
}

/** Gives `role` what another role made in `schema`: tables, views, free-standing sequences and functions. */
async function handOver(client: pg.Client, schema: string, role: string, log: (line: string) => void): Promise<void> {
  const { rows: relations } = await client.query<{ name: string; kind: string }>(
    `SELECT c.relname AS name, c.relkind AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND pg_get_userbyid(c.relowner) <> $2
        -- a sequence that belongs to a column moves with its table
        AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))`,
    [schema, role],
  );
  const KIND: Record<string, string> = { r: 'TABLE', p: 'TABLE', v: 'VIEW', m: 'MATERIALIZED VIEW', f: 'FOREIGN TABLE', S: 'SEQUENCE' };
  for (const { name, kind } of relations) await client.query(`ALTER ${KIND[kind]} ${ident(schema)}.${ident(name)} OWNER TO ${ident(role)}`);
  const { rows: functions } = await client.query<{ signature: string }>(
    `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1 AND pg_get_userbyid(p.proowner) <> $2`,
    [schema, role],
  );
  for (const { signature } of functions) await client.query(`ALTER ROUTINE ${signature} OWNER TO ${ident(role)}`);
  if (relations.length + functions.length > 0) log(`handed ${relations.length + functions.length} object(s) of schema ${schema} to ${role}`);
}
