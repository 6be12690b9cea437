import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { readStream } from '../tools/testing/streams.js';
import pg from 'pg';
import { ADMIN_DATABASE_URL, waitFor } from '../tools/testing/harness.js';

/** A write acknowledged to the client is never lost from the event stream, and never doubled. */
describe('outbox across a SIGKILL of the environments service', () => {
  let p: TestPlatform;
  let nc: NatsConnection;
  let admin: string;

  beforeAll(async () => {
    p = await startPlatform();
    nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    admin = await p.token('root', true);
    await call(`${p.api}/projects/9`, { method: 'PUT', token: admin, body: { path: 'crash/test', name: 'Crash', visibility: 'internal' } });
  });

  afterAll(async () => {
    await nc?.close();
    await p?.stop();
  });

  const launcherEvents = async (id: string) =>
    (await readStream(nc, 'ENVIRONMENTS', 'environments.launcher.created')).filter((e) => e.data.data.id === id);

  it('publishes each acknowledged write exactly once after a SIGKILL right after it', async () => {
    const environmentId = (await call(`${p.api}/environments`, { token: admin })).body.items[0].id;
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      const res = await call(`${p.api}/projects/9/launchers`, {
        method: 'POST',
        token: admin,
        body: { name: `Crash ${round}`, kind: 'session', environment: { kind: 'global', id: environmentId } },
      });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
      expect(await p.environments.kill('SIGKILL')).toBeNull(); // killed by the signal, no clean shutdown
      await p.environments.start();
    }
    for (const id of ids) {
      const events = await waitFor(`launcher.created for ${id}`, async () => {
        const found = await launcherEvents(id);
        return found.length > 0 ? found : undefined;
      });
      expect(events).toHaveLength(1);
    }
    // Give a relay that would wrongly re-publish a chance to do so, then count again.
    await new Promise((r) => setTimeout(r, 1500));
    for (const id of ids) expect(await launcherEvents(id)).toHaveLength(1);
  });

  it('keeps serving and publishing after NATS itself restarts', async () => {
    await p.nats.stop();
    await p.nats.start();
    await waitFor('environments to report ready again', async () => (await fetch(`${p.environments.url}/readyz`)).status === 200);
    // The gateway reconnects on its own schedule; until then it answers 503, as it should.
    const environmentId = (
      await waitFor('the gateway to answer again', async () => {
        const r = await call(`${p.api}/environments`, { token: admin });
        return r.status === 200 ? r : undefined;
      })
    ).body.items[0].id;
    const res = await waitFor('the gateway to reach environments again', async () => {
      const r = await call(`${p.api}/projects/9/launchers`, {
        method: 'POST',
        token: admin,
        body: { name: 'After NATS restart', kind: 'session', environment: { kind: 'global', id: environmentId } },
      });
      return r.status === 201 ? r : undefined;
    });
    if (nc.isClosed()) nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    const events = await waitFor('the event of the write after the restart', async () => {
      const found = await launcherEvents(res.body.id);
      return found.length > 0 ? found : undefined;
    });
    expect(events).toHaveLength(1);
  });

  it('keeps serving after Postgres drops every connection, as a Postgres restart does', async () => {
    const admin_ = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
    await admin_.connect();
    const { rowCount } = await admin_.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [p.db.name]);
    await admin_.end();
    expect(rowCount).toBeGreaterThan(0);
    const environmentId = (await waitFor('environments to answer again', async () => {
      const r = await call(`${p.api}/environments`, { token: admin });
      return r.status === 200 ? r : undefined;
    })).body.items[0].id;
    const res = await call(`${p.api}/projects/9/launchers`, {
      method: 'POST',
      token: admin,
      body: { name: 'After Postgres restart', kind: 'session', environment: { kind: 'global', id: environmentId } },
    });
    expect(res.status).toBe(201);
    const events = await waitFor('the event of the write after the reconnect', async () => {
      const found = await launcherEvents(res.body.id);
      return found.length > 0 ? found : undefined;
    });
    expect(events).toHaveLength(1);
    expect(p.environments.logs()).not.toMatch(/"level":60/); // no fatal crash
  });
});
