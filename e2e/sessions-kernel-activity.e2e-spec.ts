import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWorkloads, waitFor } from '../tools/testing/harness.js';
import { jupyterInstalled, openKernel, startCell } from '../tools/testing/jupyter.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';

const IDLE_MS = 8000;
const CELL_S = 24;

/**
 * Idle means idle (issue 11): a real Jupyter from the default environment, an idle time of 8 s,
 * and a cell that sleeps for three times that with its browser tab closed. Nothing passes the
 * gateway while it runs; Jupyter, asked with the session's own token, says its kernel is busy.
 */
describe('a Jupyter session running a long cell', () => {
  let p: TestPlatform;
  let dataDir: string;
  let alice: string;

  beforeAll(async () => {
    if (!jupyterInstalled()) throw new Error('jupyter is not installed: install Debian\'s "jupyter-notebook" package, as .ci/run does');
    dataDir = mkdtempSync(join(tmpdir(), 'lp-kernel-'));
    p = await startPlatform(
      {
        sessions: { RUNTIME_DATA_DIR: dataDir, RECONCILE_INTERVAL_MS: '500', SESSION_IDLE_TIMEOUT_MS: String(IDLE_MS), SESSION_HIBERNATED_TTL_MS: '3600000' },
        gateway: { SESSION_ACTIVITY_REPORT_MS: '500' },
      },
      { services: ['sessions'] },
    );
    const admin = await p.token('root', true);
    alice = await p.token('alice');
    await call(`${p.api}/projects/511`, { method: 'PUT', token: admin, body: { path: 'alice/long', name: 'Long', visibility: 'private' } });
    await call(`${p.api}/projects/511/members/alice`, { method: 'PUT', token: admin, body: { role: 'owner' } });
  });

  afterAll(async () => {
    await p?.stop();
    if (dataDir) {
      killWorkloads(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('is not hibernated while its kernel is busy, and is once the kernel has been idle for the idle time', async () => {
    const environments = await call(`${p.api}/environments`, { token: alice });
    const jupyter = environments.body.items.find((e: { isDefault: boolean }) => e.isDefault);
    const launcher = await call(`${p.api}/projects/511/launchers`, { method: 'POST', token: alice, body: { name: 'Jupyter', kind: 'session', environment: { kind: 'global', id: jupyter.id } } });
    expect(launcher.status).toBe(201);
    const id = (await call(`${p.api}/sessions`, { method: 'POST', token: alice, body: { launcherId: launcher.body.id } })).body.id as string;
    const running = await waitFor(
      'the notebook server to be running',
      async () => {
        const s = (await call(`${p.api}/sessions/${id}`, { token: alice })).body;
        if (s.status === 'failed') throw new Error(`session failed: ${s.message}`);
        return s.status === 'running' ? s : undefined;
      },
      90_000,
      250,
    );
    expect(running.idleReason).toMatch(/^jupyter: a session is in use while one of its kernels is busy/);

    const { origin, cookie, channels } = await openKernel(p.gateway.port, id, running.url, alice);
    await startCell(channels, { cookie, origin }, `import time\ntime.sleep(${CELL_S})\nopen('cell-done', 'w').write('done')`);
    const cellStarted = Date.now();

    // Twice the idle time with no traffic at all: still running, and it says why.
    let sawBusy: string | undefined;
    while (Date.now() - cellStarted < 2 * IDLE_MS) {
      const s = (await call(`${p.api}/sessions/${id}`, { token: alice })).body;
      expect({ status: s.status, idleReason: s.idleReason }).toMatchObject({ status: 'running' });
      if (/1 busy/.test(s.idleReason)) sawBusy = s.idleReason;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(sawBusy).toMatch(/Jupyter had 1 kernel\(s\), 1 busy, 0 open connection\(s\)/);

    const hibernated = await waitFor(
      'hibernation once the cell is done and the kernel idle',
      async () => {
        const s = (await call(`${p.api}/sessions/${id}`, { token: alice })).body;
        return s.status === 'hibernated' ? s : undefined;
      },
      90_000,
      250,
    );
    expect(hibernated.hibernationReason).toBe('idle for more than 8 seconds');
    // The cell ran to its end: it was not cut short by a hibernation.
    expect(existsSync(join(dataDir, id, 'work', 'cell-done'))).toBe(true);
  });
});
