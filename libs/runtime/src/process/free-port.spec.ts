import { createServer, type Server } from 'node:net';
import { freeLocalPort, workloadPortRange } from './free-port.js';

describe('workloadPortRange', () => {
  it('is what lies above the kernel\'s range for outgoing connections, when there is room', () => {
    expect(workloadPortRange('32768\t60999\n')).toEqual({ low: 61000, high: 65535 });
    expect(workloadPortRange('1024 65535')).toBeNull();
    expect(workloadPortRange('32768 65000')).toBeNull();
    expect(workloadPortRange('garbage')).toBeNull();
  });
});

describe('freeLocalPort', () => {
  const ports = { low: 61000, high: 65535 };
  let taken: Server;
  let takenPort: number;
  beforeAll(async () => {
    taken = createServer();
    takenPort = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)));
  });
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it('gives ports of the range at random, each free and none twice in a row of picks', async () => {
    const picked: number[] = [];
    for (let i = 0; i < 50; i++) picked.push(await freeLocalPort(ports));
    expect(new Set(picked).size).toBe(50);
    // At random, not in turn: a workload cannot tell the next start's port from its own.
    const inTurn = picked.slice(1).filter((port, i) => port === picked[i]! + 1).length;
    expect(inTurn).toBeLessThan(5);
    for (const port of picked) {
      expect(port).toBeGreaterThanOrEqual(ports.low);
      expect(port).toBeLessThanOrEqual(ports.high);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(picked[0], '127.0.0.1', () => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('passes over a port something listens on', async () => {
    const one = { low: takenPort, high: takenPort };
    // The only port of the range is taken: any free port instead, never the taken one.
    const port = await freeLocalPort(one);
    expect(port).not.toBe(takenPort);
  });

  it.each(['127.0.0.2', '::1'])('passes over a port another program listens on at %s, which a program serving on every address could not bind', async (address) => {
    // A hostile workload holds the port on another local address, leaving 127.0.0.1 free.
    const squatter = createServer();
    const squatted = await new Promise<number>((resolve) => squatter.listen(0, address, () => resolve((squatter.address() as { port: number }).port)));
    try {
      const port = await freeLocalPort({ low: squatted, high: squatted });
      expect(port).not.toBe(squatted);
      // What it hands out instead, a program can serve on every address.
      const server = createServer();
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '0.0.0.0', () => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });
});
