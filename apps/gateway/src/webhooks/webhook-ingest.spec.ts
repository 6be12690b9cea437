import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BuildsErrorCode } from '@launchpad/contracts';
import { type RpcClient, RpcCallError } from '@launchpad/messaging';
import { WEBHOOK_PATH, webhookIngest } from './webhook-ingest.js';
import { frontDoorDoubles } from '../../../../tools/testing/front-door.js';

/** The lane on a real node:http server, with the builds service (RpcClient) and the API (Express and Nest) stood in for. */
describe('webhookIngest', () => {
  let server: Server;
  let port: number;
  let calls: { subject: string; request: { headers: Record<string, string>; body: Record<string, unknown> } }[];
  let answer: () => Promise<unknown>;
  const logged: string[] = [];
  const asked: string[] = [];

  beforeAll(async () => {
    const rpc = {
      call: (contract: { subject: string }, req: { headers: Record<string, string>; body: Record<string, unknown> }) => {
        calls.push({ subject: contract.subject, request: req });
        return answer();
      },
    } as unknown as RpcClient;
    const { accessLog, api } = frontDoorDoubles(logged, asked);
    server = createServer(webhookIngest(rpc, accessLog, 2048, api));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    calls = [];
    answer = async () => ({ outcome: 'applied', detail: 'build of 0123abcd in project 7 is running' });
    logged.length = 0;
    asked.length = 0;
  });

  function send(options: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}) {
    return new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
      const headers = { 'content-type': 'application/json', 'x-gitlab-event': 'Pipeline Hook', 'x-gitlab-token': 'secret', ...options.headers };
      const req = request({ host: '127.0.0.1', port, method: options.method ?? 'POST', path: options.path ?? WEBHOOK_PATH, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(options.body ?? JSON.stringify({ object_kind: 'pipeline', builds: [{ id: 1, name: 'build-image', status: 'running', runner: { id: 9 } }] }));
    });
  }

  it("hands a delivery on with GitLab's headers and its jobs cut down, and answers the outcome as JSON, with an id and an access line", async () => {
    const res = await send({ headers: { 'x-request-id': 'req-1', 'x-gitlab-event-uuid': 'u-1', 'idempotency-key': 'k-1' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(res.body)).toEqual({ outcome: 'applied', detail: 'build of 0123abcd in project 7 is running' });
    expect(res.headers['x-request-id']).toBe('req-1');
    expect(calls).toEqual([
      {
        subject: 'builds.rpc.webhook.gitlab',
        request: {
          headers: { token: 'secret', event: 'Pipeline Hook', eventUuid: 'u-1', idempotencyKey: 'k-1' },
          body: { object_kind: 'pipeline', builds: [{ id: 1, name: 'build-image', status: 'running' }] },
        },
      },
    ]);
    expect(logged).toEqual(['req-1 200']);
    expect(asked).toEqual([]);
  });

  it("answers the builds service's refusal as problem+json with its status", async () => {
    answer = async () => {
      throw new RpcCallError({ code: BuildsErrorCode.WEBHOOK_TOKEN_INVALID, message: 'the X-Gitlab-Token does not match' });
    };
    const res = await send();
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(JSON.parse(res.body)).toMatchObject({ status: 401, code: BuildsErrorCode.WEBHOOK_TOKEN_INVALID, instance: WEBHOOK_PATH });
  });

  it('refuses what the route refuses, in its words: a body that is not JSON, not an object, or over the webhook limit', async () => {
    const notJson = await send({ body: '{"object_kind":' });
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.body).detail).toMatch(/not valid JSON/);
    const array = await send({ body: '[1, 2]' });
    expect(array.status).toBe(400);
    expect(JSON.parse(array.body).detail).toMatch(/JSON object/);
    const large = await send({ body: JSON.stringify({ object_kind: 'pipeline', padding: 'x'.repeat(4096) }) });
    expect(large.status).toBe(413);
    expect(large.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(calls).toEqual([]);
  });

  it('leaves everything else to the API: another method or path, a query string, another Content-Type', async () => {
    await send({ method: 'GET', body: '' });
    await send({ path: `${WEBHOOK_PATH}/other` });
    await send({ path: `${WEBHOOK_PATH}?x=1` });
    await send({ headers: { 'content-type': 'text/plain' } });
    expect(asked).toEqual([`GET ${WEBHOOK_PATH}`, `POST ${WEBHOOK_PATH}/other`, `POST ${WEBHOOK_PATH}?x=1`, `POST ${WEBHOOK_PATH}`]);
    expect(calls).toEqual([]);
  });
});
