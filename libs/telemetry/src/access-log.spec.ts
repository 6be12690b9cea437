import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { jest } from '@jest/globals';
import { context, trace } from '@opentelemetry/api';
import { pinoHttp } from 'pino-http';
import type pino from 'pino';
import { accessLogMiddleware, RequestLogger } from './access-log.js';
import { loggerParams } from './logger.js';
import { startTracing, stopTracing, tracer } from './tracing.js';

type Line = Record<string, unknown> & { req?: { id: string; url?: string }; responseTime?: number };

function memoryStream(): { stream: Writable; lines: Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { stream, lines };
}

/** A plain node:http server: the middleware, then `handle`, inside a span as the gateway's traceRequests makes. */
async function serve(middleware: (req: IncomingMessage, res: ServerResponse, next: () => void) => void, handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const server: Server = createServer((req, res) => {
    const span = tracer().startSpan('test');
    res.on('finish', () => span.end());
    context.with(trace.setSpan(context.active(), span), () => middleware(req, res, () => handle(req, res)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) };
}

/** Answers with the status in `?status=`, after writing a line of its own through req.log when asked. */
function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.searchParams.has('inside')) (req as unknown as { log: pino.Logger }).log.warn({ step: 'inside' }, 'a line of the request');
  res.statusCode = Number(url.searchParams.get('status') ?? 200);
  res.end('{}');
}

const flush = () => new Promise((r) => setTimeout(r, 20));
/** What does not repeat between two runs of the same request. */
const stable = ({ time: _time, pid: _pid, hostname: _host, responseTime, trace_id, span_id, ...line }: Line) => ({
  ...line,
  req: { ...(line.req as object), id: '<id>' },
  // the stack names the function that made the error, theirs or ours
  ...(line.err ? { err: { ...(line.err as object), stack: typeof (line.err as { stack?: unknown }).stack } } : {}),
  responseTime: typeof responseTime,
  trace_id: typeof trace_id === 'string' && trace_id.length === 32,
  span_id: typeof span_id === 'string' && span_id.length === 16,
});

describe('the access log', () => {
  beforeAll(() => startTracing('access-log-test', {}));
  afterAll(() => stopTracing());

  const paths = ['/api/v1/environments', '/api/v1/x?status=404', '/api/v1/y?status=500', '/api/v1/z?status=401&inside=1', '/healthz', '/metrics', '/readyz', '/healthz?x=1'];

  it.each(['info', 'warn'])('writes at LOG_LEVEL=%s the very lines pino-http wrote, one per request', async (level) => {
    const params = loggerParams('gateway', level).pinoHttp as never;
    const ours = memoryStream();
    const theirs = memoryStream();
    const a = await serve(accessLogMiddleware(pinoHttp(params, ours.stream).logger), handler);
    const b = await serve(pinoHttp(params, theirs.stream) as never, handler);
    try {
      for (const path of paths) {
        await (await fetch(`${a.url}${path}`, { headers: { authorization: 'Bearer secret-token', cookie: 'sid=secret-cookie' } })).text();
        await (await fetch(`${b.url}${path}`, { headers: { authorization: 'Bearer secret-token', cookie: 'sid=secret-cookie' } })).text();
      }
      await flush();
    } finally {
      await a.close();
      await b.close();
    }
    expect(ours.lines.map(stable)).toEqual(theirs.lines.map(stable));
    expect(ours.lines.length).toBeGreaterThan(level === 'info' ? 5 : 3);
    expect(JSON.stringify(ours.lines)).not.toMatch(/secret-(token|cookie)/);
  });

  it('has the request id, method, url, status, response time, trace and span ids, its level by status', async () => {
    const { stream, lines } = memoryStream();
    const server = await serve(accessLogMiddleware(pinoHttp(loggerParams('gateway', 'info').pinoHttp as never, stream).logger), handler);
    try {
      await (await fetch(`${server.url}/api/v1/environments?q=py`, { headers: { 'x-request-id': 'req-1' } })).text();
      await (await fetch(`${server.url}/api/v1/environments?status=404`)).text();
      await (await fetch(`${server.url}/api/v1/environments?status=503`)).text();
      await (await fetch(`${server.url}/healthz`)).text();
      await flush();
    } finally {
      await server.close();
    }
    expect(lines).toHaveLength(3);
    const [ok, missing, failed] = lines as Line[];
    expect(ok).toMatchObject({ level: 30, name: 'gateway', req: { id: 'req-1', method: 'GET', url: '/api/v1/environments?q=py' }, res: { statusCode: 200 }, msg: 'request completed' });
    expect(ok!.responseTime).toEqual(expect.any(Number));
    expect(ok!.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(ok!.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(missing).toMatchObject({ level: 40, res: { statusCode: 404 }, msg: 'request completed' });
    expect(missing!.req!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(failed).toMatchObject({ level: 50, res: { statusCode: 503 }, msg: 'request errored', err: { message: 'failed with status code 503' } });
  });

  it('makes no request logger when nothing is written, and one bound to the request when a line is', async () => {
    const { stream, lines } = memoryStream();
    const root = pinoHttp(loggerParams('gateway', 'warn').pinoHttp as never, stream).logger as pino.Logger;
    const child = jest.spyOn(root, 'child');
    const server = await serve(accessLogMiddleware(root), handler);
    try {
      await (await fetch(`${server.url}/api/v1/environments`)).text();
      await flush();
      expect(child).not.toHaveBeenCalled();
      expect(lines).toEqual([]);
      await (await fetch(`${server.url}/api/v1/environments?inside=1&status=404`)).text();
      await flush();
    } finally {
      await server.close();
    }
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines.map((l) => [l.msg, l.req?.url])).toEqual([['a line of the request', '/api/v1/environments?inside=1&status=404'], ['request completed', '/api/v1/environments?inside=1&status=404']]);
  });

  it('writes a request logger line only at an enabled level, through one child', () => {
    const { stream, lines } = memoryStream();
    const root = pinoHttp(loggerParams('svc', 'warn').pinoHttp as never, stream).logger as pino.Logger;
    const log = new RequestLogger(root, { id: 'r1', method: 'GET', url: '/x' } as never);
    log.info('not written');
    log.debug('nor this');
    expect(log.isLevelEnabled('info')).toBe(false);
    log.error({ code: 7 }, 'written');
    log.child({ extra: true }).warn('from a child');
    return flush().then(() => {
      expect(lines.map((l) => [l.msg, l.req, l.level])).toEqual([
        ['written', { id: 'r1', method: 'GET', url: '/x' }, 50],
        ['from a child', { id: 'r1', method: 'GET', url: '/x' }, 40],
      ]);
      expect(lines[1]).toMatchObject({ extra: true });
    });
  });
});
