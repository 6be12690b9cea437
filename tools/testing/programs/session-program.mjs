/**
 * A stand-in session program for end-to-end tests: a real process that behaves like a notebook
 * server as far as the platform can tell. It listens on LAUNCHPAD_PORT under LAUNCHPAD_BASE_URL
 * and answers with what it sees (its work directory, the headers it got), so a test can check what
 * the runtime and the gateway's proxy gave it; ?truncate breaks its answer off after the headers
 * and a first chunk. PROGRAM_EXIT_CODE makes it exit before listening.
 * It listens on 127.0.0.1 (LAUNCHPAD_HOST) only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';

const port = Number(process.env.LAUNCHPAD_PORT);
const base = process.env.LAUNCHPAD_BASE_URL ?? '/';
console.log(`session program starting in ${process.cwd()} on port ${port}`);

if (process.env.PROGRAM_EXIT_CODE) {
  console.error('session program: told to fail at start');
  process.exit(Number(process.env.PROGRAM_EXIT_CODE));
}

const server = createServer((req, res) => {
  if (!req.url?.startsWith(base)) {
    res.writeHead(404).end(`not under ${base}`);
    return;
  }
  if (new URL(req.url, 'http://x').searchParams.has('truncate')) {
    // Breaks off mid-answer, as a program that crashes while it writes.
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('the first half');
    setTimeout(() => res.socket?.destroy(), 20);
    return;
  }
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    // ?env=A,B answers those variables of its environment, so a test can see what the session was given.
    const asked = new URL(req.url ?? '/', 'http://x').searchParams.get('env');
    const env = asked ? Object.fromEntries(asked.split(',').map((name) => [name, process.env[name] ?? null])) : undefined;
    // ?secret=<file> answers that file of its secrets directory, or the error reading it.
    const secretName = new URL(req.url ?? '/', 'http://x').searchParams.get('secret');
    let secret;
    if (secretName) {
      try {
        secret = readFileSync(join(process.env.LAUNCHPAD_SECRETS_DIR ?? '/secrets', secretName), 'utf8');
      } catch (error) {
        secret = { error: error.code };
      }
    }
    res.end(JSON.stringify({ url: req.url, method: req.method, body, cwd: process.cwd(), files: readdirSync('.').sort(), headers: req.headers, pid: process.pid, env, secret }));
  });
});
// PROGRAM_LISTEN_DELAY_MS stands for a program that takes a while to start (a notebook loading extensions).
setTimeout(
  () => server.listen(port, '127.0.0.1', () => console.log(`session program listening on ${port}`)),
  Number(process.env.PROGRAM_LISTEN_DELAY_MS ?? 0),
);
process.on('SIGTERM', () => {
  console.log('session program stopping');
  server.close(() => process.exit(0));
});
