import { request } from 'node:http';
import { connect } from 'node:net';

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
 * The connection comes first, and the HTTP request only on it once it is accepted: most probes of
 * a start find nobody listening yet, and a refused connect alone costs much less than an HTTP
 * client request failing (a tenth of the sessions service's CPU per launch went to probes). The
 * socket does not keep our process alive.
 */
export function probeHttp(port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.unref();
    const done = (ready: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ready);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref();
    socket.on('error', () => done(false));
    socket.once('connect', () => {
      const req = request(
        { host: '127.0.0.1', port, path, method: 'GET', createConnection: () => socket, headers: { 'user-agent': 'launchpad-readiness-probe' } },
        (res) => {
          const status = res.statusCode ?? 0;
          res.resume();
          done(status >= 200 && status < 400);
        },
      );
      req.on('error', () => done(false));
      req.end();
    });
  });
}
