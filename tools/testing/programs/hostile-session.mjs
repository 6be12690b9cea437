/**
 * A hostile session program for end-to-end tests: it listens like a notebook server (on
 * LAUNCHPAD_PORT under LAUNCHPAD_BASE_URL, loopback only) and, asked `?targets=<json>` (a list of
 * `{name, host, port}` or `{name, path}`), tries to connect to each one from inside the session and
 * answers what each came to: `connected`, or the error's code (ECONNREFUSED, ENOENT...). It also
 * answers what it sees in Postgres's socket directory.
 */
import { readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';

const base = process.env.LAUNCHPAD_BASE_URL ?? '/';

const attempt = (target) =>
  new Promise((resolve) => {
    const socket = target.path ? connect({ path: target.path }) : connect({ host: target.host, port: target.port });
    socket.setTimeout(5000);
    socket.once('connect', () => (socket.destroy(), resolve('connected')));
    socket.once('error', (error) => resolve(error.code ?? error.message));
    socket.once('timeout', () => (socket.destroy(), resolve('timeout')));
  });

createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (!url.pathname.startsWith(base)) return void res.writeHead(404).end(`not under ${base}`);
  const results = {};
  for (const target of JSON.parse(url.searchParams.get('targets') ?? '[]')) results[target.name] = await attempt(target);
  let socketDir;
  try {
    socketDir = readdirSync('/run/postgresql');
  } catch (error) {
    socketDir = error.code;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results, socketDir, uid: process.getuid() }));
}).listen(Number(process.env.LAUNCHPAD_PORT), process.env.LAUNCHPAD_HOST ?? '127.0.0.1', () => console.log('hostile session listening'));
