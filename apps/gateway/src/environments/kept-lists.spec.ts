import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Principal } from '@launchpad/contracts';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { EnvironmentList, ListBody } from './environment-list.js';
import { keptLists, LIST_PATH } from './kept-lists.js';
import { frontDoorDoubles } from '../../../../tools/testing/front-door.js';

const alice: Principal = { userId: 'alice', admin: false };
const bytes = Buffer.from('{"items":[{"name":"Python"}]}');
const kept: ListBody = { bytes, etag: 'W/"1d-abc"' };

/** The lane on a real node:http server, with the token cache, the list's copy and the API (Express and Nest) stood in for. */
describe('keptLists', () => {
  let server: Server;
  let port: number;
  let known: Record<string, Principal>;
  let list: ListBody | undefined;
  const logged: string[] = [];
  const asked: string[] = [];

  beforeAll(async () => {
    const verifier = { known: (authorization?: string) => (authorization ? known[authorization] : undefined) } as unknown as TokenVerifier;
    const lists = { kept: (query: object) => (Object.keys(query).length === 0 ? list : undefined) } as unknown as EnvironmentList;
    const { accessLog, api } = frontDoorDoubles(logged, asked);
    server = createServer(keptLists(verifier, lists, accessLog, api));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    known = { 'Bearer good': alice };
    list = kept;
    logged.length = 0;
    asked.length = 0;
  });

  function send(options: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}) {
    return new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? LIST_PATH, headers: { authorization: 'Bearer good', ...options.headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(options.body);
    });
  }

  it('answers a plain read from the copy, with the headers the route sets, an id and an access line', async () => {
    const res = await send({ headers: { 'x-request-id': 'req-1' } });
    expect(res.status).toBe(200);
    expect(res.body).toBe(bytes.toString());
    expect(res.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'content-length': String(bytes.length), etag: kept.etag, 'x-request-id': 'req-1' });
    expect(asked).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(logged).toEqual(['req-1 200']);
  });

  type Options = Parameters<typeof send>[0];
  it.each<[string, Options]>([
    ['no token', { headers: { authorization: '' } }],
    ['a token not verified lately', { headers: { authorization: 'Bearer unknown' } }],
    ['a query', { path: `${LIST_PATH}?keyword=python` }],
    ['another path', { path: `${LIST_PATH}/` }],
    ['another method', { method: 'HEAD' }],
    ['a conditional request', { headers: { 'if-none-match': kept.etag } }],
    ['a body', { headers: { 'content-type': 'application/json', 'content-length': '5' }, body: '{"x":' }],
  ])('leaves a request with %s to the API', async (_what, options) => {
    const res = await send(options);
    expect(asked).toHaveLength(1);
    if (options?.method !== 'HEAD') expect(res.body).toBe('from the api');
    expect(logged).toEqual([]);
  });

  it('leaves a read to the API when the list is not kept', async () => {
    list = undefined;
    expect((await send()).body).toBe('from the api');
    expect(asked).toEqual([`GET ${LIST_PATH}`]);
  });
});
