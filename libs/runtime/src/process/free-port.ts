import { createServer } from 'node:net';

/** A port free on 127.0.0.1 now: bound to port 0, read back, released. */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('could not pick a free port'))));
    });
  });
}
