import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { waitFor } from '../tools/testing/harness.js';

/**
 * The attacks of issue 10 on NATS, replayed against the platform's own server with the
 * permissions every suite runs with (tools/dev/nats-auth.js): a client without credentials is not
 * let in (so no session or app can connect), and a service's credentials do not let it forge what
 * only the gateway or the apps service may say.
 */
describe('NATS permissions', () => {
  let p: TestPlatform;
  let admin: string;

  beforeAll(async () => {
    p = await startPlatform({}, { services: ['sessions', 'apps', 'builds'] });
    admin = await p.token('root', true);
    const created = await call(`${p.api}/projects/9101`, { method: 'PUT', token: admin, body: { path: 'lab/guarded', name: 'Guarded', visibility: 'private' } });
    expect(created.status).toBe(200);
  });

  afterAll(async () => {
    await p?.stop();
  });

  /** Connects as `user` and records the permission errors the server sends it. */
  async function as(user: string): Promise<{ nc: NatsConnection; violations: string[] }> {
    const env = p.nats.serviceEnv(user);
    const nc = await connect({ servers: p.nats.url, user: env.NATS_USER, pass: env.NATS_PASSWORD });
    const violations: string[] = [];
    void (async () => {
      for await (const status of nc.status()) if (status.type === 'error') violations.push(String((status as { error?: unknown }).error));
    })();
    return { nc, violations };
  }

  it('lets no client in without credentials', async () => {
    await expect(connect({ servers: p.nats.url, maxReconnectAttempts: 0, reconnect: false })).rejects.toThrow(/Authorization Violation/);
    await expect(connect({ servers: p.nats.url, user: 'sessions', pass: 'a guess', reconnect: false })).rejects.toThrow(/Authorization Violation/);
  });

  it('refuses a forged members.set with an admin caller from anything but the gateway, and nothing changes', async () => {
    const watcher = await connect({ servers: p.nats.url, ...p.nats.auth });
    const seen: string[] = [];
    watcher.subscribe('environments.rpc.project.members.set', { callback: (_err, msg) => void seen.push(msg.string()) });
    await watcher.flush();
    const forged = JSON.stringify({ caller: { userId: 'eve', admin: true }, projectId: '9101', userId: 'eve', role: 'owner' });
    for (const user of ['sessions', 'apps', 'builds', 'environments']) {
      const { nc, violations } = await as(user);
      nc.publish('environments.rpc.project.members.set', forged);
      await waitFor(`the server to refuse ${user}'s publish`, async () => violations.some((v) => /Permissions Violation for Publish to "environments\.rpc\.project\.members\.set"/.test(v)));
      await nc.close();
    }
    await watcher.flush();
    expect(seen).toEqual([]);
    await watcher.close();
    const members = await call(`${p.api}/projects/9101/members`, { token: admin });
    expect(members.status).toBe(200);
    expect(JSON.stringify(members.body)).not.toContain('eve');
  });

  it('refuses a forged route signal from anything but the apps service', async () => {
    const watcher = await connect({ servers: p.nats.url, ...p.nats.auth });
    const seen: string[] = [];
    watcher.subscribe('apps.signal.route', { callback: (_err, msg) => void seen.push(msg.string()) });
    await watcher.flush();
    for (const user of ['gateway', 'sessions', 'environments', 'builds']) {
      const { nc, violations } = await as(user);
      nc.publish('apps.signal.route', JSON.stringify({ launcherId: '00000000-0000-4000-8000-000000000000', version: Number.MAX_SAFE_INTEGER, access: 'public' }));
      await waitFor(`the server to refuse ${user}'s route signal`, async () => violations.some((v) => /Permissions Violation for Publish to "apps\.signal\.route"/.test(v)));
      await nc.close();
    }
    await watcher.flush();
    expect(seen).toEqual([]);
    await watcher.close();
  });

  it("keeps a service from reading another's RPC requests", async () => {
    const { nc, violations } = await as('sessions');
    nc.subscribe('environments.rpc.>');
    await waitFor('the server to refuse the subscription', async () => violations.some((v) => /Permissions Violation for Subscription to "environments\.rpc\.>"/.test(v)));
    await nc.close();
  });

  it("keeps a service to its own streams in JetStream's API: no deleting or purging a stream, no reading one it does not consume", async () => {
    const { nc, violations } = await as('sessions');
    for (const subject of ['$JS.API.STREAM.DELETE.ENVIRONMENTS', '$JS.API.STREAM.PURGE.SESSIONS', '$JS.API.STREAM.MSG.DELETE.BUILDS', '$JS.API.CONSUMER.CREATE.BUILDS.spy', '$JS.API.CONSUMER.DELETE.ENVIRONMENTS.sessions-catalogue']) {
      nc.publish(subject, '{}');
      const shown = subject.replace(/[.$]/g, (c) => `\\${c}`);
      await waitFor(`the server to refuse ${subject}`, async () => violations.some((v) => new RegExp(`Permissions Violation for Publish to "${shown}"`).test(v)));
    }
    await nc.close();
    const js = await jetstreamManager(await connect({ servers: p.nats.url, ...p.nats.auth }));
    expect((await js.streams.names().next()).sort()).toEqual(expect.arrayContaining(['APPS', 'BUILDS', 'DEADLETTER', 'ENVIRONMENTS', 'SESSIONS']));
  });

  it('lets every service do its own JetStream work: none of them was refused anything', () => {
    for (const service of [p.environments, p.gateway, ...Object.values(p.services)]) expect(service.logs()).not.toMatch(/Permissions Violation/);
  });
});
