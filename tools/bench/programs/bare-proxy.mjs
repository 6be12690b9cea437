// The least a reverse proxy in Node can cost, as its own process (as every proxy it is compared
// with is): node:http in front of UPSTREAM with a keep-alive agent, on PORT at 127.0.0.1.
import { Agent, createServer, request } from 'node:http';

const target = new URL(process.env.UPSTREAM);
const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
const server = createServer((req, res) => {
  const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (up) => {
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  out.on('error', () => res.writeHead(502).end());
  req.pipe(out);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
