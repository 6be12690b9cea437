// deploy/nats/auth.conf is what docker compose and a cluster's NATS run with: the users and
// permissions of tools/dev/nats-auth.js (the table npm start and every test suite use), each
// password from the server's environment. Kept equal to the generator, and loaded by a real
// nats-server here.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { deployedNatsAuthorization, NATS_SERVICES, natsPasswordVariable } from '../dev/nats-auth.js';
import { freePort, waitFor } from '../testing/harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const AUTH_CONF = join(ROOT, 'deploy', 'nats', 'auth.conf');

describe('deploy/nats/auth.conf', () => {
  it('is what tools/dev/nats-auth.js writes (regenerate: node tools/dev/nats-auth.js > deploy/nats/auth.conf)', () => {
    expect(readFileSync(AUTH_CONF, 'utf8')).toBe(deployedNatsAuthorization());
  });

  it("runs a real nats-server: each service in with the password from the server's environment, nobody without one", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-nats-auth-conf-'));
    const port = await freePort();
    const config = join(dir, 'nats-server.conf');
    // nats-server takes an include relative to the including file: the file beside it, as compose mounts it.
    writeFileSync(join(dir, 'auth.conf'), readFileSync(AUTH_CONF));
    writeFileSync(config, `port: ${port}\nhost: "127.0.0.1"\njetstream { store_dir: ${JSON.stringify(dir)} }\ninclude "auth.conf"\n`);
    const passwords = Object.fromEntries(NATS_SERVICES.map((s) => [s, `pw-of-${s}`]));
    const env = { PATH: process.env.PATH ?? '', ...Object.fromEntries(NATS_SERVICES.map((s) => [natsPasswordVariable(s), passwords[s]!])) };
    const server = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-c', config], { env, stdio: 'ignore' });
    try {
      const nc = await waitFor('nats-server to take the sessions user', () => connect({ servers: `127.0.0.1:${port}`, user: 'sessions', pass: passwords.sessions!, reconnect: false }), 15_000);
      await nc.close();
      await expect(connect({ servers: `127.0.0.1:${port}`, reconnect: false })).rejects.toThrow(/Authorization Violation/);
      await expect(connect({ servers: `127.0.0.1:${port}`, user: 'gateway', pass: passwords.sessions!, reconnect: false })).rejects.toThrow(/Authorization Violation/);
    } finally {
      if (server.exitCode === null) {
        server.kill('SIGTERM');
        await new Promise((resolve) => server.once('exit', resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
