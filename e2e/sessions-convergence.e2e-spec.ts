import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { isRunning, killWorkloads, ROOT, type RunningService, startService, waitFor } from '../tools/testing/harness.js';
import { makeRepository } from '../tools/testing/programs/make-repository.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { originFetch, sessionOrigin } from '../tools/testing/origins.js';
import { readSse } from '../tools/testing/sse.js';
import { echoed } from '../tools/testing/programs/echoed.js';

const PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');

/** Live session programs whose work directory is this session's: there must never be two. */
function programsOf(dataDir: string, sessionId: string): number[] {
  const work = join(dataDir, sessionId, 'work');
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === work && isRunning(Number(entry)) && readlinkSync(`/proc/${entry}/exe`) === process.execPath) {
        pids.push(Number(entry));
      }
    } catch {
      // gone, or not ours to look at
    }
  }
  return pids;
}

async function isLeader(service: RunningService): Promise<boolean> {
  const metrics = await fetch(`${service.url}/metrics`).then((r) => r.text()).catch(() => '');
  return /^launchpad_session_reconciler_leader 1$/m.test(metrics);
}

/**
 * What the reconciler promises when things die: two replicas of `sessions`, one leading; the
 * leader SIGKILLed mid-launch; a session program killed mid-launch; rows and processes that
 * disagree. Each time the table and the machine converge, with no process orphaned and no
 * session started twice.
 */
describe('the session reconciler converges', () => {
  let p: TestPlatform;
  let dataDir: string;
  let second: RunningService;
  let dana: string;
  let slowLauncher: string;
  let cloningLauncher: string;
  let sessionsEnv: Record<string, string>;

  const sessionUntil = (id: string, what: string, predicate: (s: any) => boolean, timeoutMs = 30_000) =>
    waitFor(
      what,
      async () => {
        const res = await call(`${p.api}/sessions/${id}`, { token: dana });
        return predicate(res.body) ? res.body : undefined;
      },
      timeoutMs,
    );
  // 'starting' is recorded once the wrapper (prlimit, the shell that records the exit code) is spawned: the program itself follows.
  const programOf = (id: string) => waitFor('the session program to run', async () => programsOf(dataDir, id)[0], 15_000);
  const launch = async (launcherId: string) => {
    const res = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId } });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-converge-'));
    sessionsEnv = {
      RUNTIME_DATA_DIR: dataDir,
      RECONCILE_INTERVAL_MS: '1000',
      LEADER_ELECTION_INTERVAL_MS: '500',
      // ssh://slow/<path> clones <path>, three seconds late: a launch that stays mid-clone long enough to kill.
      GIT_SSH_COMMAND: join(ROOT, 'tools', 'testing', 'programs', 'slow-ssh.sh'),
      GIT_SSH_VARIANT: 'simple',
      SLOW_SSH_DELAY: '3',
    };
    p = await startPlatform({ sessions: sessionsEnv }, { services: ['sessions'] });
    second = await startService('sessions', { DATABASE_URL: p.db.serviceUrl('sessions'), ...p.nats.serviceEnv('sessions'), ALLOW_FILE_REPOSITORIES: 'true', ...sessionsEnv });
    const admin = await p.token('root', true);
    dana = await p.token('dana');
    await call(`${p.api}/projects/401`, { method: 'PUT', token: admin, body: { path: 'lab/conv', name: 'Conv', visibility: 'public' } });
    await call(`${p.api}/projects/401/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } });
    const launcher = await call(`${p.api}/projects/401/launchers`, {
      method: 'POST',
      token: dana,
      body: {
        name: 'Slow notebook',
        kind: 'session',
        environment: { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: [process.execPath], args: [PROGRAM], env: { PROGRAM_LISTEN_DELAY_MS: '2500' } },
      },
    });
    slowLauncher = launcher.body.id;
    const repo = makeRepository('big-data', { 'rows.csv': 'a,b\n' });
    await call(`${p.api}/projects/402`, { method: 'PUT', token: admin, body: { path: 'lab/clone', name: 'Clone', visibility: 'public', repositories: [{ url: `ssh://slow${repo.dir}` }] } });
    const cloning = await call(`${p.api}/projects/402/launchers`, {
      method: 'POST',
      token: admin,
      body: { name: 'Cloning notebook', kind: 'session', environment: { kind: 'custom', image: 'ghcr.io/lab/nb:1', port: 8888, command: [process.execPath], args: [PROGRAM] } },
    });
    cloningLauncher = cloning.body.id;
  });

  afterAll(async () => {
    await second?.kill();
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('has exactly one leader among two replicas', async () => {
    const leaders = await waitFor('one leader', async () => {
      const flags = await Promise.all([isLeader(p.services.sessions!), isLeader(second)]);
      return flags.filter(Boolean).length === 1 ? flags : undefined;
    });
    expect(leaders.filter(Boolean)).toHaveLength(1);
  });

  it('finishes a launch whose leader was SIGKILLed mid-launch, on the other replica, without starting it twice', async () => {
    const [first] = [p.services.sessions!, second];
    const leader = (await isLeader(first)) ? first : second;
    const follower = leader === first ? second : first;
    const id = await launch(slowLauncher);
    await readSse(`${p.api}/sessions/${id}/events`, { authorization: `Bearer ${dana}` }, (es) => es.some((e) => e.data.phase === 'starting'));
    const pidBefore = await programOf(id);

    await leader.kill('SIGKILL');
    await waitFor('the follower to take over', () => isLeader(follower), 15_000);
    const running = await sessionUntil(id, 'the session to be running', (s) => s.status === 'running');
    expect(running.phase).toBe('ready');
    // The program started before the crash was adopted, not started again.
    expect(programsOf(dataDir, id)).toEqual([pidBefore]);

    await leader.start();
  });

  it('starts again a launch whose service was SIGKILLed mid-clone, ending the clone left behind', async () => {
    const id = await launch(cloningLauncher);
    await readSse(`${p.api}/sessions/${id}/events`, { authorization: `Bearer ${dana}` }, (es) => es.some((e) => e.data.phase === 'preparing'));
    const leader = (await isLeader(p.services.sessions!)) ? p.services.sessions! : second;
    const follower = leader === second ? p.services.sessions! : second;
    await leader.kill('SIGKILL');
    await waitFor('the follower to take over', () => isLeader(follower), 15_000);
    const running = await sessionUntil(id, 'the session to be running', (s) => s.status === 'running' || s.status === 'failed');
    expect(`${running.status}: ${running.message}`).toMatch(/^running: /);
    expect(existsSync(join(dataDir, id, 'work', 'big-data', 'rows.csv'))).toBe(true);
    expect(existsSync(join(dataDir, id, 'work', '.big-data.cloning'))).toBe(false);
    await leader.start();
    expect((await call(`${p.api}/sessions/${id}`, { method: 'DELETE', token: dana })).status).toBe(204);
    await waitFor('the session to go', async () => (await call(`${p.api}/sessions/${id}`, { token: dana })).status === 404);
  });

  it('keeps a running session running across a restart of the service, adopting its process', async () => {
    const [session] = (await call(`${p.api}/sessions`, { token: dana })).body.items;
    const before = programsOf(dataDir, session.id);
    expect(before).toHaveLength(1);
    await Promise.all([p.services.sessions!.kill('SIGKILL'), second.kill('SIGKILL')]);
    await Promise.all([p.services.sessions!.start(), second.start()]);
    await waitFor('a leader again', async () => (await isLeader(p.services.sessions!)) || (await isLeader(second)), 15_000);
    // Give the new leader a full pass; the session must stay as it was.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await call(`${p.api}/sessions/${session.id}`, { token: dana })).body.status).toBe('running');
    expect(programsOf(dataDir, session.id)).toEqual(before);
    const page = await originFetch(`${sessionOrigin(p.gateway.port, session.id)}/`, { headers: { authorization: `Bearer ${dana}` } });
    expect(page.status).toBe(200);
    expect((await echoed(page)).pid).toBe(before[0]);
  });

  it('reports a session program killed mid-launch as failed, with the reason, and retries it on request', async () => {
    const [session] = (await call(`${p.api}/sessions`, { token: dana })).body.items;
    expect((await call(`${p.api}/sessions/${session.id}`, { method: 'DELETE', token: dana })).status).toBe(204);
    await waitFor('the old session to go', async () => (await call(`${p.api}/sessions/${session.id}`, { token: dana })).status === 404);
    const id = await launch(slowLauncher);
    await readSse(`${p.api}/sessions/${id}/events`, { authorization: `Bearer ${dana}` }, (es) => es.some((e) => e.data.phase === 'starting'));
    const pid = await programOf(id);
    process.kill(pid, 'SIGKILL');
    const failed = await sessionUntil(id, 'the session to fail', (s) => s.status === 'failed');
    expect(failed.message).toMatch(/exited with code \d+ before it was ready|killed/);
    expect(programsOf(dataDir, id)).toEqual([]);

    const retry = await call(`${p.api}/sessions/${id}`, { method: 'PATCH', token: dana, body: { state: 'running' } });
    expect(retry.body.message).toMatch(/retrying/);
    await sessionUntil(id, 'the retried session to run', (s) => s.status === 'running');
    expect(programsOf(dataDir, id)).toHaveLength(1);
  });

  it('removes a workload that no session owns any more', async () => {
    const [session] = (await call(`${p.api}/sessions`, { token: dana })).body.items;
    const [pid] = programsOf(dataDir, session.id);
    // Someone deleted the row behind the service's back (a restore from backup, a bad migration).
    const db = new pg.Client({ connectionString: p.db.url });
    await db.connect();
    await db.query(`DELETE FROM sessions.sessions WHERE id = $1`, [session.id]);
    await db.end();
    await waitFor('the orphaned workload to be removed', async () => !existsSync(join(dataDir, session.id)), 15_000);
    expect(isRunning(pid!)).toBe(false);
  });
});
