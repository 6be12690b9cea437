import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActivityProbe, ActivityProbeError, MAX_ANSWER_BYTES } from './activity-probe.js';

const KERNEL = JSON.stringify({ execution_state: 'idle', last_activity: '2026-12-01T12:00:00Z', connections: 0 });

describe('ActivityProbe', () => {
  let server: Server;
  let endpoint: string;
  /** What the program answers /api/kernels with: `count` kernels, chunked or with a Content-Length. */
  let kernels = { count: 1, declareLength: false };
  let sentBytes = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/api/status')) return res.end(JSON.stringify({ last_activity: '2026-12-01T12:00:00Z', kernels: kernels.count }));
      const body = `[${Array.from({ length: kernels.count }, () => KERNEL).join(',')}]`;
      res.writeHead(200, { 'content-type': 'application/json', ...(kernels.declareLength ? { 'content-length': Buffer.byteLength(body) } : {}) });
      // In pieces, as a program streaming an endless answer would: what is written is counted.
      const piece = 64 * 1024;
      let at = 0;
      const pump = () => {
        while (at < body.length) {
          const next = body.slice(at, (at += piece));
          sentBytes += next.length;
          if (!res.write(next)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (sentBytes = 0));

  it('reads what a Jupyter says about its kernels', async () => {
    kernels = { count: 3, declareLength: false };
    await expect(new ActivityProbe().jupyter(endpoint, 'token t')).resolves.toMatchObject({ kernels: 3, busyKernels: 0 });
  });

  it.each([false, true])('refuses an answer larger than it would ever be, without reading it whole (Content-Length given: %s)', async (declareLength) => {
    // The session's program is the user's: 64 MiB of "kernels" must not be held and parsed by the service.
    kernels = { count: Math.ceil((64 * MAX_ANSWER_BYTES) / KERNEL.length), declareLength };
    const seen = new ActivityProbe().jupyter(endpoint, 'token t');
    await expect(seen).rejects.toThrow(ActivityProbeError);
    await expect(seen).rejects.toThrow(/more than 1024 KiB/);
    expect(sentBytes).toBeLessThan(32 * MAX_ANSWER_BYTES);
  });
});
