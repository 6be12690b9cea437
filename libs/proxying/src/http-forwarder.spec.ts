import { createServer, request, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpForwarder } from './http-forwarder.js';

const listen = (handler: RequestListener): Promise<{ server: Server; url: string }> =>
  new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });

const send = (url: string, init: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}) =>
  new Promise<{ status: number; message: string; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, method: init.method ?? 'GET', path: init.path ?? '/', headers: init.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, message: res.statusMessage!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });

describe('HttpForwarder', () => {
  const closing: Server[] = [];
  const forwarder = new HttpForwarder({ xfwd: true });
  afterAll(async () => {
    await forwarder.close();
    for (const s of closing) s.close();
  });

  async function through(upstream: RequestListener, onError = (_e: Error) => undefined as void) {
    const up = await listen(upstream);
    const front = await listen((req, res) =>
      forwarder.forward(req, res, {
        origin: up.url,
        onResponse: (headers) => {
          delete headers['x-secret'];
        },
        onError: (error) => {
          onError(error);
          if (!res.headersSent) res.writeHead(503).end((error as NodeJS.ErrnoException).code ?? error.message);
        },
      }),
    );
    closing.push(up.server, front.server);
    return front.url;
  }

  it('passes method, path, headers, body and status through, without hop-by-hop headers, and lets the caller edit the response headers', async () => {
    const url = await through((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.writeHead(201, 'Made It', { 'x-secret': 'no', 'x-kept': 'yes', 'set-cookie': ['a=1', 'b=2'] });
        res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, body, keepAlive: req.headers['keep-alive'] ?? null, xff: req.headers['x-forwarded-for'], xfh: req.headers['x-forwarded-host'] }));
      });
    });
    const got = await send(url, { method: 'POST', path: '/a/b?c=d', headers: { host: 'app.example:8080', 'keep-alive': 'timeout=5', 'content-type': 'text/plain' }, body: 'hello' });
    expect(got.status).toBe(201);
    expect(got.message).toBe('Made It');
    expect(got.headers['x-secret']).toBeUndefined();
    expect(got.headers['x-kept']).toBe('yes');
    expect(got.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(JSON.parse(got.body)).toEqual({ method: 'POST', url: '/a/b?c=d', host: 'app.example:8080', body: 'hello', keepAlive: null, xff: '127.0.0.1', xfh: 'app.example:8080' });
  });

  it('streams a response as it comes (an event stream is not held until it ends)', async () => {
    let finish = () => undefined as void;
    const url = await through((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      finish = () => res.end('data: two\n\n');
    });
    const first = await new Promise<string>((resolve, reject) => {
      const u = new URL(url);
      request({ host: u.hostname, port: u.port, path: '/' }, (res) => {
        res.setEncoding('utf8');
        res.once('data', (c: string) => {
          resolve(c);
          finish();
        });
      })
        .on('error', reject)
        .end();
    });
    expect(first).toBe('data: one\n\n');
  });

  it('reports an upstream that refuses the connection with its code', async () => {
    const errors: Error[] = [];
    const dead = await listen(() => undefined);
    const deadUrl = dead.url;
    await new Promise((r) => dead.server.close(r));
    const front = await listen((req, res) =>
      forwarder.forward(req, res, {
        origin: deadUrl,
        onError: (error) => {
          errors.push(error);
          res.writeHead(503).end();
        },
      }),
    );
    closing.push(front.server);
    const got = await send(front.url);
    expect(got.status).toBe(503);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });
});
