import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { NatsConnection } from '@nats-io/nats-core';
import { type AppRoute, signCaller } from '@launchpad/contracts';
import type { DataSource } from 'typeorm';
import type { AppsConfig } from '../config.js';
import type { Routes } from '../routing/route-source.js';
import { Activator, parseTarget } from './activator.js';

const APP = '11111111-2222-4333-8444-555555555555';
const SECRET = 'the-secret-the-gateway-and-the-activator-share';
const dana = { userId: 'dana', admin: false };

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const listen = async (server: Server) => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
};

/** Turns of the event loop: whatever the activator does once a promise settles, it has done by then. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/**
 * The activator in front of one real replica (a tiny HTTP server), with the database (the
 * membership lookup), the route source and NATS swapped for stand-ins the test controls.
 */
describe('Activator', () => {
  let replica: Server;
  let server: Server;
  let activator: Activator;
  let url: string;
  let lookups: Deferred<{ role: string }[]>[];
  let lookupStarted: Deferred<void>;
  let clientGone: Deferred<void>;
  let endpoint: string;
  let published: { subject: string; body: unknown }[];

  beforeEach(async () => {
    replica = createServer((req, res) => res.end(`replica saw ${req.url}`));
    // A WebSocket of the app: switches protocols, then echoes.
    replica.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      socket.pipe(socket);
    });
    endpoint = await listen(replica);
    const route: AppRoute = {
      appId: APP,
      version: 1,
      slug: 'lab-study-board',
      projectId: '42',
      visibility: 'private',
      status: 'active',
      access: 'members',
      endpoints: [endpoint],
      stripPrefix: true,
      capacity: null,
      deleted: false,
    };
    lookups = [];
    lookupStarted = deferred();
    const dataSource = {
      query: () => {
        const lookup = deferred<{ role: string }[]>();
        lookups.push(lookup);
        lookupStarted.resolve();
        return lookup.promise;
      },
    } as unknown as DataSource;
    published = [];
    const nc = {
      subscribe: () => ({ unsubscribe: () => undefined }),
      publish: (subject: string, body: string) => published.push({ subject, body: JSON.parse(body) }),
    } as unknown as NatsConnection;
    const config = { activator: { queueLimit: 10, wakeTimeoutMs: 60_000, reportIntervalMs: 60_000, routeRefreshMs: 60_000, callerSecret: SECRET } } as AppsConfig;
    activator = new Activator({ all: async () => [route] } as unknown as Routes, dataSource, nc, config);
    await activator.onApplicationBootstrap();
    clientGone = deferred();
    server = createServer((req, res) => {
      res.once('close', () => clientGone.resolve());
      activator.serve(req, res);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.once('close', () => clientGone.resolve());
      activator.upgrade(req, socket, head);
    });
    url = await listen(server);
  });

  afterEach(async () => {
    activator.onApplicationShutdown();
    server.closeAllConnections();
    replica.closeAllConnections();
    await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => replica.close(r))]);
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string; req: ReturnType<typeof request> }>((resolve, reject) => {
      const req = request(`${url}${path}`, { headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body, req }));
      });
      req.on('error', reject);
      req.end();
    });
  const signed = (path: string, caller = dana, method = 'GET') => signCaller(SECRET, caller, method, path);

  /** A raw upgrade request, as a browser's WebSocket would send it; resolves with the status line. */
  const upgrade = (path: string, headers: Record<string, string> = {}) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    const lines = Object.entries({ host: 'x', connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`GET ${path} HTTP/1.1\r\n${lines}\r\n`);
    const answered = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
      socket.on('error', () => undefined);
    });
    return { socket, answered };
  };

  it('reads slugs as they are made and never decodes them: a malformed link is 404, for HTTP and WebSocket alike', async () => {
    expect(parseTarget('/a/%E0%A4%A/')).toBeNull();
    expect(parseTarget('/a/Lab-Study/')).toBeNull();
    expect(parseTarget('/a/lab-study-board/x%E0%A4%A?y=%')).toEqual({ slug: 'lab-study-board', rest: '/x%E0%A4%A?y=%' });
    const res = await get('/a/%E0%A4%A/');
    expect(res.status).toBe(404);
    expect(res.body).toMatch(/No app here/);
    expect(await upgrade('/a/%E0%A4%A/').answered).toBe('HTTP/1.1 404 Not Found');
    // And it goes on serving.
    const member = get('/a/lab-study-board/hello', signed('/a/lab-study-board/hello'));
    await lookupStarted.promise;
    lookups[0]!.resolve([{ role: 'developer' }]);
    expect(await member).toMatchObject({ status: 200, body: 'replica saw /hello' });
  });

  it('opens a members-only app to a member the gateway vouches for, and to nobody who merely says so', async () => {
    const forged = { 'x-launchpad-caller': JSON.stringify({ userId: 'dana', admin: true }) };
    // Not signed by the gateway (an app replica calling the activator on its port, say): refused outright.
    expect((await get('/a/lab-study-board/', forged)).status).toBe(403);
    const wrongSecret = signCaller(`${SECRET}-not-it`, { userId: 'dana', admin: true }, 'GET', '/a/lab-study-board/');
    expect((await get('/a/lab-study-board/', wrongSecret)).status).toBe(403);
    // Signed for another path: replayed elsewhere, it is nobody's.
    expect((await get('/a/lab-study-board/other', signed('/a/lab-study-board/'))).status).toBe(403);
    // The gateway's anonymous visitor: a members-only app does not exist for them.
    expect((await get('/a/lab-study-board/', signCaller(SECRET, null, 'GET', '/a/lab-study-board/'))).status).toBe(404);
    expect(lookups).toHaveLength(0);
    const headers = signed('/a/lab-study-board/reports');
    const member = get('/a/lab-study-board/reports', headers);
    await lookupStarted.promise;
    lookups[0]!.resolve([{ role: 'developer' }]);
    expect(await member).toMatchObject({ status: 200, body: 'replica saw /reports' });
    // The very same signed request again (captured on the way): refused.
    expect((await get('/a/lab-study-board/reports', headers)).status).toBe(403);
    await settle();
    expect(activator.holding(APP)).toBe(0);
  });

  /** A member's request whose client leaves while the membership is looked up: once the lookup answers, nothing is held. */
  const leavesDuringLookup = async (leave: () => Promise<unknown>) => {
    await lookupStarted.promise;
    await leave();
    await clientGone.promise;
    lookups[0]!.resolve([{ role: 'developer' }]);
    await settle();
    expect(activator.holding(APP)).toBe(0);
  };

  it('holds nothing for a client that leaves while its membership is looked up (HTTP)', async () => {
    const req = request(`${url}/a/lab-study-board/slow`, { headers: signed('/a/lab-study-board/slow') });
    req.on('error', () => undefined);
    req.end();
    await leavesDuringLookup(async () => req.destroy());
  });

  it('holds nothing for a client that leaves while its membership is looked up (WebSocket)', async () => {
    const { socket, answered } = upgrade('/a/lab-study-board/socket', signed('/a/lab-study-board/socket'));
    await leavesDuringLookup(() => (socket.destroy(), answered));
  });

  it('holds a replica for as long as a WebSocket is open, and gives it back once', async () => {
    const { socket, answered } = upgrade('/a/lab-study-board/socket', signed('/a/lab-study-board/socket'));
    await lookupStarted.promise;
    lookups[0]!.resolve([{ role: 'developer' }]);
    const switched = new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString().split('\r\n')[0]!)));
    expect(await switched).toBe('HTTP/1.1 101 Switching Protocols');
    expect(activator.holding(APP)).toBe(2);
    // The scaler hears which replica it is on (a draining one is kept until nobody uses it).
    (activator as unknown as { report(): void }).report();
    expect(published.at(-1)).toMatchObject({ subject: 'apps.signal.concurrency', body: { outstanding: { [endpoint]: 1 }, apps: [{ appId: APP, current: 1 }] } });
    socket.end();
    expect(await answered).toBe('HTTP/1.1 101 Switching Protocols');
    await clientGone.promise;
    await settle();
    expect(activator.holding(APP)).toBe(0);
  });

  it('gives back what a forwarded request held once it is answered, exactly once', async () => {
    const first = get('/a/lab-study-board/one', signed('/a/lab-study-board/one'));
    await lookupStarted.promise;
    lookups[0]!.resolve([{ role: 'developer' }]);
    expect((await first).status).toBe(200);
    // Cached membership: the second goes straight through.
    expect((await get('/a/lab-study-board/two', signed('/a/lab-study-board/two'))).status).toBe(200);
    await settle();
    expect(activator.holding(APP)).toBe(0);
  });
});
