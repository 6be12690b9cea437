import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { environmentDeletedV1, environmentUpdatedV1, type Principal } from '@launchpad/contracts';
import type { RpcClient } from '@launchpad/messaging';
import { startNats, type TestNats, waitFor } from '../../../../tools/testing/harness.js';
import { EnvironmentList, LIST_KEPT_FOR_MS } from './environment-list.js';

const envelope = (type: string, data: unknown) => JSON.stringify({ id: randomUUID(), type, version: 1, occurredAt: new Date().toISOString(), data });
const alice: Principal = { userId: 'alice', admin: false };

/**
 * The gateway's copy of the catalogue on a real (private) NATS server, connected as the gateway's
 * own NATS user (so its permissions are the ones it runs with); the environments service's RPC is
 * a stand-in that counts its calls and answers what the catalogue holds now.
 */
describe('EnvironmentList', () => {
  let nats: TestNats;
  let gateway: NatsConnection;
  let publisher: NatsConnection;
  let list: EnvironmentList;
  let catalogue: string[];
  let calls: number;
  /** The gateway connection's status changes, in order. */
  const seen: string[] = [];
  const rpc = { call: async () => (calls++, { items: catalogue.map((name) => ({ name })) }) } as unknown as RpcClient;
  const names = async (query = {}) => (JSON.parse((await list.list(alice, query)).bytes.toString()) as { items: { name: string }[] }).items.map((e) => e.name);

  beforeAll(async () => {
    nats = await startNats();
    const env = nats.serviceEnv('gateway');
    gateway = await connect({ servers: nats.url, user: env.NATS_USER, pass: env.NATS_PASSWORD, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
    publisher = await connect({ servers: nats.url, ...nats.auth, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
    void (async () => {
      for await (const status of gateway.status()) seen.push(status.type);
    })();
  });
  afterAll(async () => {
    await gateway.close();
    await publisher.close();
    await nats.dispose();
  });
  beforeEach(async () => {
    catalogue = ['Python'];
    calls = 0;
    list = new EnvironmentList(gateway, rpc);
    await list.onApplicationBootstrap();
  });
  afterEach(() => list.onApplicationShutdown());

  it('asks the environments service once for a search however often it is asked, and keeps searches apart', async () => {
    expect(await names()).toEqual(['Python']);
    expect(await names()).toEqual(['Python']);
    expect(calls).toBe(1);
    await names({ keyword: 'python' });
    await names({ keyword: 'python' });
    expect(calls).toBe(2);
  });

  it('answers the JSON body with its ETag, the one Express would have made', async () => {
    const body = await list.list(alice, {});
    expect(body.bytes.toString()).toBe('{"items":[{"name":"Python"}]}');
    expect(body.etag).toMatch(/^W\/"1d-/);
  });

  it('asks again after an environment event from any replica of the environments service', async () => {
    expect(await names()).toEqual(['Python']);
    catalogue = ['Python', 'R'];
    publisher.publish(environmentUpdatedV1.type, envelope(environmentUpdatedV1.type, { id: 'r' }));
    // Well before the copy would have expired on its own.
    await waitFor('the list to show R', async () => (await names()).includes('R'), LIST_KEPT_FOR_MS / 4);
    catalogue = ['R'];
    publisher.publish(environmentDeletedV1.type, envelope(environmentDeletedV1.type, { id: 'python', deletedBy: 'root' }));
    await waitFor('the list to drop Python', async () => (await names()).join() === 'R', LIST_KEPT_FOR_MS / 4);
  });

  it('asks again at once after a change made through this gateway', async () => {
    expect(await names()).toEqual(['Python']);
    catalogue = ['Python', 'R'];
    list.changed();
    expect(await names()).toEqual(['Python', 'R']);
  });

  it('keeps nothing before it is subscribed to the events', async () => {
    const fresh = new EnvironmentList(gateway, rpc);
    await fresh.list(alice, {});
    await fresh.list(alice, {});
    expect(calls).toBe(2);
    fresh.onApplicationShutdown();
  });

  it('keeps nothing when NATS refuses it the events (a NATS user without the permission)', async () => {
    const env = nats.serviceEnv('builds');
    const other = await connect({ servers: nats.url, user: env.NATS_USER, pass: env.NATS_PASSWORD });
    const blind = new EnvironmentList(other, rpc);
    await blind.onApplicationBootstrap();
    await blind.list(alice, {});
    await blind.list(alice, {});
    expect(calls).toBe(2);
    blind.onApplicationShutdown();
    await other.close();
  });

  it('keeps nothing while disconnected from NATS, and nothing from before once back', async () => {
    expect(await names()).toEqual(['Python']);
    await nats.stop();
    await waitFor('the gateway to notice', async () => seen.includes('disconnect'), 10_000);
    catalogue = ['R'];
    // Changed while the gateway could not hear it.
    expect(await names()).toEqual(['R']);
    expect(await names()).toEqual(['R']);
    const whileDown = calls;
    await nats.start();
    await waitFor('the gateway to reconnect', async () => seen.includes('reconnect'), 15_000);
    catalogue = ['S'];
    expect(await names()).toEqual(['S']);
    expect(await names()).toEqual(['S']);
    expect(calls).toBe(whileDown + 1);
  }, 30_000);
});
