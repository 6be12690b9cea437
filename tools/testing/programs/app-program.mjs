/**
 * A stand-in app for end-to-end tests and the benchmark: a real HTTP (and WebSocket) server on
 * PORT, as a Procfile's `web: node app.js` or a launcher's command would start. It answers with
 * what it saw, and can be made slow, streaming, or slow to start:
 *   ?delay=<ms>          holds the request that long before answering (concurrency in tests)
 *   /sse?events=<n>&every=<ms>   a server-sent event stream
 *   POST /echo           streams the request body back as it arrives
 *   /redirect            a redirect to /landing (an absolute path of the app's own)
 *   /truncated           breaks its answer off after the headers and a first chunk (a crash mid-write)
 *   /hostile             headers an app must not get through to a browser: a service worker scope
 *                        widened to the whole origin, a cookie for every sibling origin (and one of its own)
 *   WebSocket, any path  echoes each message back, prefixed with "echo: "; at /hostile its 101 carries
 *                        the same headers, and at /hostile-refused it is refused (403) with them
 * APP_START_DELAY_MS waits before listening; APP_NEVER_LISTEN never does (it only prints);
 * APP_EXIT_CODE exits at once with that code. Every request is logged as "<method> <url>".
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT);
const host = process.env.LAUNCHPAD_HOST ?? '127.0.0.1';
const startedAt = Date.now();
console.log(`app program starting in ${process.cwd()} (pid ${process.pid})`);

if (process.env.APP_EXIT_CODE) {
  console.error('app program: told to fail at start');
  process.exit(Number(process.env.APP_EXIT_CODE));
}
if (process.env.APP_NEVER_LISTEN) {
  console.log('app program: loading the model, this takes forever');
  setInterval(() => undefined, 60_000);
} else {
  const server = createServer((req, res) => {
    console.log(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://app');
    if (url.pathname === '/sse') {
      const events = Number(url.searchParams.get('events') ?? 3);
      const every = Number(url.searchParams.get('every') ?? 100);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(`event: tick\ndata: ${JSON.stringify({ n: ++sent, pid: process.pid, at: Date.now() })}\n\n`);
        if (sent >= events) {
          clearInterval(timer);
          res.end();
        }
      }, every);
      req.on('close', () => clearInterval(timer));
      return;
    }
    if (url.pathname === '/echo' && req.method === 'POST') {
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
      req.pipe(res);
      return;
    }
    if (url.pathname === '/hostile') {
      res.writeHead(200, {
        'content-type': 'text/plain',
        'service-worker-allowed': '/',
        'set-cookie': ['stolen=1; Domain=apps.localhost; Path=/', 'own=1; Path=/'],
      });
      res.end('hostile');
      return;
    }
    if (url.pathname === '/truncated') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('the first half');
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: '/landing' }).end();
      return;
    }
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pid: process.pid, url: req.url, method: req.method, cwd: process.cwd(), headers: req.headers, startedAt }));
    };
    const delay = Number(url.searchParams.get('delay') ?? 0);
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
  server.keepAliveTimeout = 65_000;
  const HOSTILE = ['Service-Worker-Allowed: /', 'Set-Cookie: stolen=1; Domain=apps.localhost; Path=/', 'Set-Cookie: own=1; Path=/'];
  const sockets = new WebSocketServer({
    server,
    verifyClient: (info, done) => {
      if (!info.req.url?.startsWith('/hostile-refused')) return done(true);
      // One Set-Cookie (ws joins an array into one header line), and a header of its own that does come through.
      done(false, 403, 'Forbidden', { 'service-worker-allowed': '/', 'set-cookie': 'stolen=1; Domain=apps.localhost; Path=/', 'x-own': '1' });
    },
  });
  sockets.on('headers', (headers, req) => {
    if (req.url?.startsWith('/hostile')) headers.push(...HOSTILE);
  });
  sockets.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo: ${data}`)));
  setTimeout(() => server.listen(port, host, () => console.log(`app program listening on ${port}`)), Number(process.env.APP_START_DELAY_MS ?? 0));
  process.on('SIGTERM', () => {
    console.log('app program stopping');
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
