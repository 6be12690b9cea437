import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ProcessFixture, waitFor } from '../../testing/process-fixtures.js';
import type { ProcessRuntime } from './process-runtime.js';
import { containWorkloads } from './workload-containment.js';
import { freeLocalPort } from './free-port.js';
import type { ProcessIsolationOptions } from './workload-sandbox.js';
import { firewallChain, NftablesFirewall, ownersOfPort, portsInChain, removeFirewallChain } from './workload-network.js';

// A range of its own, clear of the services' defaults: its chain in inet launchpad_runtime is this test's alone, and removed after.
const RANGE = { first: 383000, last: 383999 };
const isRoot = process.getuid?.() === 0;
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const PG_PORT = Number(new URL(DATABASE_URL).port || 5432);
const NATS_PORT = Number(new URL(NATS_URL.split(',')[0]!).port || 4222);
const SOCKET = `/var/run/postgresql/.s.PGSQL.${PG_PORT}`;

interface Target {
  name: string;
  host?: string;
  port?: number;
  path?: string;
}

/** What a connection attempt came to: 'connected', or the error's code (ECONNREFUSED, ENOENT...); the hostile program does the same. */
function attempt(target: Target): Promise<string> {
  return new Promise((resolve) => {
    const socket = target.path ? connect({ path: target.path }) : connect({ host: target.host!, port: target.port! });
    socket.setTimeout(5_000);
    socket.once('connect', () => (socket.destroy(), resolve('connected')));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.once('timeout', () => (socket.destroy(), resolve('timeout')));
  });
}

/** attempt(), as a program's source: what the hostile programs run. */
const ATTEMPT = `
const net = require('node:net');
const attempt = (target) => new Promise((resolve) => {
  const socket = target.path ? net.connect({ path: target.path }) : net.connect({ host: target.host, port: target.port });
  socket.setTimeout(5000);
  socket.once('connect', () => (socket.destroy(), resolve('connected')));
  socket.once('error', (error) => resolve(error.code || error.message));
  socket.once('timeout', () => (socket.destroy(), resolve('timeout')));
});
`;

/** What a connection from `uid` (outside any runtime) to 127.0.0.1:port comes to. */
const attemptAs = (uid: number, port: number) =>
  execFileSync('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', process.execPath, '-e', `${ATTEMPT}attempt({ host: '127.0.0.1', port: ${port} }).then((r) => console.log(r))`], { encoding: 'utf8' }).trim();

/** The hostile program: tries each target in TARGETS (JSON) and prints what each came to, then lists Postgres's socket directory. */
const HOSTILE = `${ATTEMPT}
const fs = require('node:fs');
(async () => {
  const results = {};
  for (const target of JSON.parse(process.env.TARGETS)) results[target.name] = await attempt(target);
  try { results.socketDir = fs.readdirSync('/run/postgresql'); } catch (error) { results.socketDir = error.code; }
  console.log('RESULTS ' + JSON.stringify(results));
  setInterval(() => {}, 1e6);
})();
`;

const listen = (server: Server, host: string, port = 0) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: false }, () => resolve((server.address() as { port: number }).port));
  });

/**
 * A hostile workload against a runtime run as root with the machine's real nftables, mount
 * namespaces, Postgres (trust on loopback and on its socket) and NATS: the platform's ports and
 * Postgres's socket are refused to the workload, while we (the service) still reach them, and
 * the workload's own loopback traffic still flows.
 */
(isRoot ? describe : describe.skip)('ProcessRuntime keeps workloads off the platform (run as root)', () => {
  let fixture: ProcessFixture;
  let runtime: ProcessRuntime;
  let isolation: ProcessIsolationOptions | null;
  // Our clients hang up at once: a reset on the server's side is expected, not an error.
  const platform = createServer((socket) => socket.on('error', () => undefined).end('platform\n'));
  const open = createServer((socket) => socket.on('error', () => undefined).end('open\n'));
  let platformPort: number;
  let openPort: number;
  const davServers: ChildProcess[] = [];
  const lanAddress = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

  beforeAll(async () => {
    // A platform port of our own on every address (both stacks), and one that is not blocked.
    platformPort = await listen(platform, '::');
    openPort = await listen(open, '127.0.0.1');
    fixture = new ProcessFixture();
    chmodSync(fixture.root, 0o711);
    chmodSync(fixture.script, 0o644);
    const logged: string[] = [];
    const log = (_: object, msg: string) => void logged.push(msg);
    // Multi-user: were either part not enforceable here, this would throw rather than let the test pass.
    isolation = await containWorkloads({
      multiUser: true,
      uidRange: RANGE,
      platform: { databaseUrl: DATABASE_URL, natsUrl: NATS_URL, ports: [platformPort] },
      dataDir: fixture.dataDir,
      logger: { info: log, warn: log, error: log },
    });
    expect(logged.join('\n')).not.toContain('NOT enforced');
    runtime = fixture.runtime({ isolation, limits: { maxProcesses: 64, maxOpenFiles: 256 } });
  });

  afterAll(async () => {
    for (const server of davServers) server.kill();
    await fixture?.cleanup();
    // The fixture kills its programs without the runtime: their ports are given back here.
    await new NftablesFirewall().releaseDeparted(RANGE, new Set());
    await removeFirewallChain(RANGE);
    platform.close();
    open.close();
  });

  const targets = (): Target[] => [
    { name: 'postgresTcp', host: '127.0.0.1', port: PG_PORT },
    { name: 'platformLoopbackAlias', host: '127.0.0.2', port: platformPort },
    { name: 'postgresSocket', path: SOCKET },
    { name: 'postgresRunSocket', path: `/run/postgresql/.s.PGSQL.${PG_PORT}` },
    { name: 'nats', host: '127.0.0.1', port: NATS_PORT },
    { name: 'platformV4', host: '127.0.0.1', port: platformPort },
    { name: 'platformV6', host: '::1', port: platformPort },
    ...(lanAddress ? [{ name: 'platformLan', host: lanAddress, port: platformPort }] : []),
    { name: 'openLoopback', host: '127.0.0.1', port: openPort },
  ];

  it('refuses TCP to Postgres, NATS and the blocked ports on every local address, and hides the socket, while we still reach them', async () => {
    // We can: what the workload is refused below is there, and answers.
    for (const target of targets()) expect([target.name, await attempt(target)]).toEqual([target.name, 'connected']);
    for (const connectionString of [DATABASE_URL, `postgres://postgres@/postgres?host=${encodeURIComponent('/var/run/postgresql')}&port=${PG_PORT}`]) {
      const client = new pg.Client({ connectionString });
      await client.connect();
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      await client.end();
    }

    const spec = fixture.spec({ command: [process.execPath], args: ['-e', HOSTILE], env: { TARGETS: JSON.stringify(targets()) } });
    await runtime.ensureRunning(spec);
    const line = await waitFor('the attack to finish', async () => (await runtime.logs(spec.id, 50)).find((l) => l.startsWith('RESULTS ')) ?? null);
    const results = JSON.parse(line.slice('RESULTS '.length));
    expect(results).toEqual({
      postgresTcp: 'ECONNREFUSED',
      platformLoopbackAlias: 'ECONNREFUSED',
      postgresSocket: 'ENOENT',
      postgresRunSocket: 'ENOENT',
      nats: 'ECONNREFUSED',
      platformV4: 'ECONNREFUSED',
      platformV6: 'ECONNREFUSED',
      ...(lanAddress ? { platformLan: 'ECONNREFUSED' } : {}),
      // Not every port of loopback: a Jupyter server and its kernels talk over it.
      openLoopback: 'connected',
      socketDir: [],
    });
    // Refused in the workload's namespace only: ours still has them.
    expect(await attempt({ name: 'socket', path: SOCKET })).toBe('connected');
  });

  it("keeps each workload's port its own: another workload, of this range or another service's, is refused, while the workload and we reach it", async () => {
    // Alice's program serves on its port and checks nobody (an app with auth none, a Jupyter without a token).
    const server = fixture.spec({ command: [process.execPath], args: ['-e', "require('node:http').createServer((q, r) => r.end('mine')).listen(process.env.PORT, '127.0.0.1')"] });
    await runtime.ensureRunning(server);
    const ready = await waitFor('the server to be ready', async () => {
      const status = await runtime.status(server.id);
      return status?.phase === 'ready' ? status : null;
    });
    const port = Number(new URL(ready.endpoint!).port);
    const serverUid = statSync(fixture.workDir(server.id)).uid;
    const owners = () => execFileSync('nft', ['list', 'set', 'inet', 'launchpad_runtime', 'workload_port_owners'], { encoding: 'utf8' });
    expect(owners()).toContain(`${port} . ${serverUid}`);
    expect(await attempt({ name: 'us', host: '127.0.0.1', port })).toBe('connected');

    // Eve's workload, beside it, tries the port on every local address, and the platform port next to it as before.
    const targets: Target[] = [
      { name: 'v4', host: '127.0.0.1', port },
      { name: 'alias', host: '127.0.0.2', port },
      { name: 'open', host: '127.0.0.1', port: openPort },
    ];
    const hostile = fixture.spec({ command: [process.execPath], args: ['-e', HOSTILE], env: { TARGETS: JSON.stringify(targets) } });
    await runtime.ensureRunning(hostile);
    const line = await waitFor('the attack to finish', async () => (await runtime.logs(hostile.id, 50)).find((l) => l.startsWith('RESULTS ')) ?? null);
    expect(JSON.parse(line.slice('RESULTS '.length))).toMatchObject({ v4: 'ECONNREFUSED', alias: 'ECONNREFUSED', open: 'connected' });

    // The server's own programs (its kernels, say) still reach its port: same uid.
    expect(attemptAs(serverUid, port)).toBe('connected');

    // A workload of another service (another range, its own chain in the same table) is refused too.
    const other = { first: 386000, last: 386999 };
    await new NftablesFirewall().install(other, []);
    try {
      expect(attemptAs(other.first + 1, port)).toBe('ECONNREFUSED');
    } finally {
      await removeFirewallChain(other);
    }

    // Stopped, the port is given back: nobody owns it, so nothing stays refused on it.
    await runtime.stop(server.id);
    await waitFor('the port to be given back', async () => (owners().includes(`${port} . ${serverUid}`) ? null : true));
  });

  it('gives back the port it guarded for a start that fails before its program runs', async () => {
    const uidOwners = (uid: number) =>
      execFileSync('nft', ['list', 'set', 'inet', 'launchpad_runtime', 'workload_port_owners'], { encoding: 'utf8' })
        .split(/[,{}\n]/)
        .map((element) => element.trim())
        .filter((element) => element.endsWith(` . ${uid}`));
    const missing = fixture.spec({ command: ['launchpad-no-such-command'], args: [] });
    await runtime.ensureRunning(missing);
    const failed = await waitFor('the start to fail', async () => {
      const status = await runtime.status(missing.id);
      return status?.phase === 'failed' ? status : null;
    });
    expect(failed.reason).toBe('CommandNotFound');
    const uid = statSync(fixture.workDir(missing.id)).uid;
    // The guard is taken while the command is looked up, and given back before the preparation
    // is over (stop waits for that).
    await runtime.stop(missing.id);
    expect(uidOwners(uid)).toEqual([]);
  });

  it("does not let another workload serve on a workload's port before its program binds it", async () => {
    // Alice's program takes its time to bind (as Jupyter does). Her port is no longer on show in
    // the /proc Eve sees (her namespace's hides other users' processes), but ports can be guessed:
    // Eve is handed it here, and listens on it first, answering anyone who comes.
    const alice = fixture.spec({
      command: [process.execPath],
      args: ['-e', "setTimeout(() => require('node:http').createServer((q, r) => r.end('alice')).on('error', (e) => console.log('ALICE ' + e.code)).listen(process.env.PORT, '127.0.0.1'), 60_000); setInterval(() => {}, 1e6)", '--', 'launchpad-victim', '--port=$(PORT)'],
    });
    await runtime.ensureRunning(alice);
    const alicePort = await waitFor('Alice to be given a port', async () => {
      const endpoint = (await runtime.status(alice.id))?.endpoint;
      return endpoint ? Number(new URL(endpoint).port) : null;
    });
    const EVE = `require('node:http').createServer((q, r) => (console.log('STOLE ' + q.headers.authorization), r.end('eve'))).listen(${alicePort}, '127.0.0.1', () => console.log('SQUATTED ${alicePort}'));`;
    const eve = fixture.spec({ command: [process.execPath], args: ['-e', EVE] });
    await runtime.ensureRunning(eve);
    const squatted = await waitFor('Eve to listen on the port', async () => (await runtime.logs(eve.id, 20)).find((l) => l.startsWith('SQUATTED ')) ?? null);
    const port = Number(squatted.slice('SQUATTED '.length));
    // The port Eve took is the one guarded for Alice.
    expect(ownersOfPort(execFileSync('nft', ['-j', 'list', 'set', 'inet', 'launchpad_runtime', 'workload_port_owners'], { encoding: 'utf8' }), port)).toEqual([statSync(fixture.workDir(alice.id)).uid]);

    // We (the gateway, with the token it adds) connect to Alice's port: Eve must not be the one who answers.
    const answer = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', headers: { authorization: 'token alice-secret' }, timeout: 2_000 }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d)).on('end', () => resolve(body));
      });
      req.on('timeout', () => (req.destroy(), resolve('timeout'))).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      req.end();
    });
    expect(answer).not.toBe('eve');
    // Nor did the readiness probe take Eve for Alice.
    expect((await runtime.status(alice.id))?.phase).toBe('starting');
    expect((await runtime.logs(eve.id, 20)).filter((l) => l.startsWith('STOLE'))).toEqual([]);
    await runtime.remove(alice.id);
    await runtime.remove(eve.id);
  });

  it("mounts a data connector for the workload's uid alone, with rclone held off the platform's ports like the workload", async () => {
    // Real WebDAV servers (rclone's own): one the connector may use, one on a port blocked like Postgres's.
    const store = join(fixture.root, 'store');
    mkdirSync(join(store, 'survey'), { recursive: true });
    writeFileSync(join(store, 'survey', 'answers.csv'), 'id,answer\n1,yes\n');
    const [open, blocked] = [await freeLocalPort(), await freeLocalPort()];
    for (const port of [open, blocked]) {
      const server = spawn('rclone', ['serve', 'webdav', store, '--addr', `127.0.0.1:${port}`], { stdio: 'ignore' });
      davServers.push(server);
      await waitFor('the WebDAV server', async () => ((await attempt({ name: 'dav', host: '127.0.0.1', port })) === 'connected' ? true : null));
    }
    await new NftablesFirewall().install(RANGE, [{ port: PG_PORT, remote: [] }, { port: NATS_PORT, remote: [] }, { port: platformPort, remote: [] }, { port: blocked, remote: [] }]);
    const connector = (port: number) => ({ name: 'Survey', storageType: 'webdav', configuration: { url: `http://127.0.0.1:${port}`, vendor: 'other' }, sourcePath: 'survey', targetPath: 'survey', readonly: true });

    const reader = fixture.spec({ command: ['/bin/sh'], args: ['-c', 'cat survey/answers.csv; echo "owner=$(stat -c %u survey)"; echo DONE; exec sleep 600'], mounts: [connector(open)] });
    await runtime.ensureRunning(reader);
    const lines = await waitFor('the program to read the mount', async () => {
      const status = await runtime.status(reader.id);
      if (status?.phase === 'failed') throw new Error(`failed: ${status.message}`);
      const logs = await runtime.logs(reader.id, 20);
      return logs.includes('DONE') ? logs : null;
    });
    const uid = statSync(fixture.workDir(reader.id)).uid;
    expect(lines).toEqual(expect.arrayContaining(['id,answer', '1,yes', `owner=${uid}`]));

    // A connector whose URL names a port the platform blocks: rclone is refused as the workload would be, and says so.
    const prober = fixture.spec({ mounts: [connector(blocked)] });
    await runtime.ensureRunning(prober);
    const failed = await waitFor('the launch to fail', async () => {
      const status = await runtime.status(prober.id);
      return status?.phase === 'failed' ? status : null;
    });
    expect(failed.message).toMatch(/data connector "Survey" \(webdav\) could not be read.*connection refused/);
    await runtime.remove(reader.id);
  });

  it('runs the program as its uid, with its environment and limits intact, and clones as that uid in the namespace', async () => {
    const upstream = fixture.gitRepository('analysis', { 'README.md': '# analysis\n' });
    chmodSync(join(fixture.root, 'upstream'), 0o755);
    const tricky = `it's "$HOME" and \`id\`\nsecond line; LD_PRELOAD=x`;
    const spec = fixture.spec({
      command: ['/bin/sh'],
      args: [
        '-c',
        'printf "TRICKY=%s|\\n" "$TRICKY"; grep -E "^(Uid|Groups|CapEff):" /proc/self/status; echo "limits files=$(ulimit -n) procs=$(ulimit -p)"; ' +
          'env | grep -c ^LAUNCHPAD_ENV_; ls -A /run/postgresql | wc -l; echo DONE; exec sleep 600',
      ],
      env: { TRICKY: tricky, LD_LIBRARY_PATH: '/nowhere' },
      repositories: [{ name: 'analysis', url: upstream }],
    });
    await runtime.ensureRunning(spec);
    const lines = await waitFor('the program to report', async () => {
      const logs = await runtime.logs(spec.id, 20);
      return logs.includes('DONE') ? logs.slice(0, logs.indexOf('DONE')) : null;
    });
    const uid = statSync(fixture.workDir(spec.id)).uid;
    expect(uid).toBeGreaterThanOrEqual(RANGE.first);
    expect(lines.join('\n')).toContain(`TRICKY=${tricky}|`);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`)), expect.stringMatching(/^Groups:\s*$/), expect.stringMatching(/^CapEff:\s+0+$/)]));
    // Held to its limits as without the namespace (prlimit runs after the drop to its uid).
    expect(lines).toContain('limits files=256 procs=64');
    // No trace of how the variables travelled, and nothing of Postgres's directory.
    expect(lines.slice(-2)).toEqual(['0', '0']);
    expect(statSync(join(fixture.workDir(spec.id), 'analysis', 'README.md')).uid).toBe(uid);
  });
});

(isRoot ? describe : describe.skip)('the nftables chain of one uid range (run as root)', () => {
  const range = { first: 385000, last: 385999 };
  const servers: Server[] = [];
  const listed = () => portsInChain(execFileSync('nft', ['list', 'chain', 'inet', 'launchpad_runtime', firewallChain(range)], { encoding: 'utf8' }));
  afterAll(async () => {
    await removeFirewallChain(range);
    for (const server of servers) server.close();
  });

  it("keeps another replica's port while that replica listens, and drops it when it has gone", async () => {
    const [replicaA, replicaB] = [createServer(), createServer()];
    servers.push(replicaA, replicaB);
    const [a, b] = [await listen(replicaA, '127.0.0.1'), await listen(replicaB, '127.0.0.1')];
    const firewall = new NftablesFirewall();
    await firewall.install(range, [{ port: 5432, remote: [] }, { port: a, remote: [] }]);
    await firewall.install(range, [{ port: 5432, remote: [] }, { port: b, remote: [] }]);
    expect(listed()).toEqual([5432, a, b].sort((x, y) => x - y));
    await new Promise((resolve) => replicaA.close(resolve));
    // A restart of B: A's port is nobody's now, and is not kept.
    await firewall.install(range, [{ port: 5432, remote: [] }, { port: b, remote: [] }]);
    expect(listed()).toEqual([5432, b].sort((x, y) => x - y));
  });
});
