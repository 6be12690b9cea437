import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { FIRST_PROBE_DELAY_MS, probeDelayMs, probeHttp } from './readiness-probe.js';

describe('probeDelayMs', () => {
  it('asks soon at first and a little later each time, never later than the interval', () => {
    const delays = Array.from({ length: 40 }, (_, i) => probeDelayMs(i, 250));
    expect(delays[0]).toBe(FIRST_PROBE_DELAY_MS);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(Math.max(...delays)).toBe(250);
  });

  it('finds a program ready at most 15 % of its start time (plus the first delay) after it listened', () => {
    for (const readyAtMs of [20, 56, 120, 400, 900]) {
      let at = 0;
      for (let probes = 0; at < readyAtMs; probes++) at += probeDelayMs(probes, 250);
      expect(at - readyAtMs).toBeLessThanOrEqual(readyAtMs * 0.15 + FIRST_PROBE_DELAY_MS);
    }
  });
});

describe('probeHttp', () => {
  let server: Server;
  let port: number;
  let status = 200;
  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(status).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('says ready for a 2xx or 3xx answer and not for an error status', async () => {
    status = 200;
    expect(await probeHttp(port, '/', 1_000)).toBe(true);
    status = 302;
    expect(await probeHttp(port, '/', 1_000)).toBe(true);
    status = 503;
    expect(await probeHttp(port, '/', 1_000)).toBe(false);
  });

  it('says not yet when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const free = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await probeHttp(free, '/', 1_000)).toBe(false);
  });

  it('says not yet when something accepts the connection but does not answer HTTP in time, or hangs up', async () => {
    const silent = createNetServer(() => undefined);
    const rude = createNetServer((socket) => socket.destroy());
    await Promise.all([silent, rude].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
    try {
      expect(await probeHttp((silent.address() as AddressInfo).port, '/', 200)).toBe(false);
      expect(await probeHttp((rude.address() as AddressInfo).port, '/', 1_000)).toBe(false);
    } finally {
      for (const s of [silent, rude]) s.close();
    }
  });
});
