import 'reflect-metadata';
import type { Logger } from '@nestjs/common';
import { CommonErrorCode } from '@launchpad/contracts';
import { createServiceDataSource, isTransientDatabaseError } from '@launchpad/persistence';
import pg from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { ADMIN_DATABASE_URL, waitFor } from '../../../tools/testing/harness.js';
import { toErrorPayload } from './rpc.js';

/**
 * Postgres restarted (or an operator ended a connection) in the middle of a use case's
 * transaction: what the caller hears. Found by `npm run bench -- faults`, whose Postgres fault is
 * pg_terminate_backend on the run's database: pg's client reports the lost connection as an
 * 'error' event, TypeORM releases the transaction's query runner at once, and the use case's next
 * statement throws QueryRunnerAlreadyReleasedError, which was answered as a 500.
 */
describe('an RPC whose transaction loses its database connection', () => {
  let ds: DataSource;
  let admin: pg.Client;
  const logged: unknown[][] = [];
  const logger = { error: (...args: unknown[]) => void logged.push(args) } as unknown as Logger;

  beforeAll(async () => {
    ds = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema: 'public', entities: [], migrations: [], applicationName: 'rpc-connection-lost-test' });
    await ds.initialize();
    admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await ds?.destroy();
  });

  // The next statement through the transaction's manager, or through its runner (as a query builder does).
  const through: Record<string, (manager: EntityManager) => Promise<unknown>> = {
    manager: (manager) => manager.query(`SELECT 1`),
    'query builder': (manager) => manager.createQueryBuilder().select('1').fromDummy().getRawOne(),
  };

  it.each(Object.keys(through))('answers SERVICE_UNAVAILABLE (503 with Retry-After), not INTERNAL (next statement through the %s)', async (way) => {
    const failure = await ds
      .transaction(async (manager) => {
        const [{ pid }] = (await manager.query(`SELECT pg_backend_pid() AS pid`)) as { pid: number }[];
        await admin.query(`SELECT pg_terminate_backend($1)`, [pid]);
        // The server's goodbye reaches the client as an 'error' event; TypeORM then lets the runner go.
        await waitFor('the connection to be gone', async () => (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [pid])).rowCount === 0);
        await new Promise((r) => setTimeout(r, 200));
        await through[way]!(manager);
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(Error);
    expect(isTransientDatabaseError(failure)).toBe(true);
    const payload = toErrorPayload(failure, logger, 'builds.rpc.webhook.gitlab');
    expect(payload.code).toBe(CommonErrorCode.SERVICE_UNAVAILABLE);
    // The pool gives the next use case a fresh connection.
    expect(await ds.query(`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
  });
});
