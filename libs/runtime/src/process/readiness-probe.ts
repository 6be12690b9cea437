import { request } from 'node:http';

/**
 * One readiness check: a GET on 127.0.0.1:<port><path>; a 2xx or 3xx answer (redirects are not
 * followed) means ready. Anything else (refused, an error status, no answer in time) means not yet.
 * The socket does not keep our process alive.
 */
export function probeHttp(port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', agent: false, timeout: timeoutMs, headers: { 'user-agent': 'launchpad-readiness-probe' } },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        req.destroy();
        resolve(status >= 200 && status < 400);
      },
    );
    req.on('socket', (socket) => socket.unref());
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve(false));
    req.end();
  });
}
