import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWorkloads, ROOT, waitFor } from '../tools/testing/harness.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { originFetch, sessionOrigin } from '../tools/testing/origins.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');

/** Idle culling with a policy of seconds: use through the gateway keeps a session; idleness hibernates, then deletes it. */
describe('idle sessions', () => {
  let p: TestPlatform;
  let dataDir: string;
  let dana: string;
  let launcherId: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-culling-'));
    p = await startPlatform(
      {
        sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '500', SESSION_IDLE_TIMEOUT_MS: '4000', SESSION_HIBERNATED_TTL_MS: '3000' },
        gateway: { SESSION_ACTIVITY_REPORT_MS: '500' },
      },
      { services: ['sessions'] },
    );
    const admin = await p.token('root', true);
    dana = await p.token('dana');
    await call(`${p.api}/projects/601`, { method: 'PUT', token: admin, body: { path: 'lab/idle', name: 'Idle', visibility: 'public' } });
    await call(`${p.api}/projects/601/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } });
    const launcher = await call(`${p.api}/projects/601/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'Notebook', kind: 'session', environment: { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: [process.execPath], args: [PROGRAM] } },
    });
    launcherId = launcher.body.id;
  });

  afterAll(async () => {
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says when it will hibernate, stays up while used, hibernates when idle and is deleted later', async () => {
    const id = (await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId } })).body.id as string;
    const running = await waitFor('running', async () => {
      const s = (await call(`${p.api}/sessions/${id}`, { token: dana })).body;
      return s.status === 'running' ? s : undefined;
    });
    expect(new Date(running.willHibernateAt).getTime() - new Date(running.idleSince).getTime()).toBe(4000);
    expect(running.hibernationReason).toBe('running sessions are hibernated after 4 seconds without use');

    // Traffic through the proxy is use: for longer than the idle time, the session stays up.
    const useUntil = Date.now() + 6000;
    let lastSeen = running.lastInteraction;
    while (Date.now() < useUntil) {
      const page = await originFetch(`${sessionOrigin(p.gateway.port, id)}/`, { headers: { authorization: `Bearer ${dana}` } });
      expect(page.status).toBe(200);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const used = (await call(`${p.api}/sessions/${id}`, { token: dana })).body;
    expect(used.status).toBe('running');
    expect(new Date(used.lastInteraction).getTime()).toBeGreaterThan(new Date(lastSeen).getTime());
    lastSeen = used.lastInteraction;

    const hibernated = await waitFor('idle hibernation', async () => {
      const s = (await call(`${p.api}/sessions/${id}`, { token: dana })).body;
      return s.status === 'hibernated' ? s : undefined;
    });
    expect(hibernated.hibernationReason).toBe('idle for more than 4 seconds');
    expect(new Date(hibernated.willDeleteAt).getTime() - new Date(hibernated.hibernatedAt).getTime()).toBe(3000);

    await waitFor('deletion after the time to live', async () => (await call(`${p.api}/sessions/${id}`, { token: dana })).status === 404);
  });
});
