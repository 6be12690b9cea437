import { request } from 'node:http';

/** The first readiness probe of a start waits this long; each next one 15 % longer. */
export const FIRST_PROBE_DELAY_MS = 5;
const PROBE_GROWTH = 1.15;

/**
 * How long to wait before readiness probe number `probes` (0 for the first) of one start. A
 * program is found ready at most 15 % of its own start time late (a doubling schedule lost up to
 * as much again as the program took: 35 ms of a 60 ms start), while a slow one is asked about 20
 * times in its first second and then every `intervalMs`. A probe of a port nobody listens on yet
 * is a refused connection: cheap.
 */
export function probeDelayMs(probes: number, intervalMs: number): number {
  return Math.min(intervalMs, Math.round(FIRST_PROBE_DELAY_MS * PROBE_GROWTH ** probes));
}

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
