import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { isRunning, killWorkloads, waitFor } from '../tools/testing/harness.js';
import { APP_JS, APP_PROGRAM, appProgramEnvironment, quickAppsEnv } from '../tools/testing/programs/apps.js';
import { makeRepository } from '../tools/testing/programs/make-repository.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { originFetch } from '../tools/testing/origins.js';
import { readSse } from '../tools/testing/sse.js';
import { readStream } from '../tools/testing/streams.js';
import { echoed } from '../tools/testing/programs/echoed.js';

/** What goes wrong with apps, and what a person is told: crashes, programs that never answer, full queues, nothing to run. */
describe('apps when things go wrong', () => {
  let p: TestPlatform;
  let dataDir: string;
  let admin: string, dana: string;
  const notes = makeRepository('notes', { 'README.md': '# notes\n' });

  /** An app launcher that runs the stand-in app with `env`, nothing at all, or a shell script (`sh -c <script>`). */
  const appLauncher = async (name: string, env: Record<string, string> = {}, runs: 'program' | 'nothing' | { script: string } = 'program') => {
    const command = runs === 'program' ? {} : runs === 'nothing' ? { command: [], args: [] } : { command: ['sh', '-c'], args: [runs.script] };
    const environment = { ...appProgramEnvironment(env), ...command };
    const res = await call(`${p.api}/projects/601/launchers`, { method: 'POST', token: dana, body: { name, kind: 'app', environment } });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const activate = async (id: string, settings: Record<string, unknown> = {}) => {
    const res = await call(`${p.api}/apps/${id}/activate`, { method: 'POST', token: dana, body: settings });
    expect(res.status).toBe(200);
    return res.body;
  };
  const status = async (id: string) => (await call(`${p.api}/apps/${id}`, { token: dana })).body;
  const settled = (id: string, what: string, test: (app: any) => boolean, timeoutMs?: number) =>
    waitFor(
      `app ${id} ${what}`,
      async () => {
        const app = await status(id);
        return test(app) ? app : undefined;
      },
      timeoutMs,
    );

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-apps-failures-'));
    const apps = quickAppsEnv(dataDir, { RUNTIME_READINESS_TIMEOUT_MS: '4000', ACTIVATOR_WAKE_TIMEOUT_MS: '2500', ACTIVATOR_QUEUE_LIMIT: '3', APP_CRASH_LIMIT: '3' });
    p = await startPlatform({ apps }, { services: ['apps'] });
    [admin, dana] = await Promise.all([p.token('root', true), p.token('dana')]);
    const project = await call(`${p.api}/projects/601`, {
      method: 'PUT',
      token: admin,
      body: { path: 'lab/trouble', name: 'Trouble', visibility: 'public', repositories: [{ url: notes.url }] },
    });
    expect(project.status).toBe(200);
    expect((await call(`${p.api}/projects/601/members/dana`, { method: 'PUT', token: admin, body: { role: 'maintainer' } })).status).toBe(200);
  });

  afterAll(async () => {
    if (process.env.SHOW_LOGS) console.log(p.services.apps?.logs().slice(-10000));
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(join(notes.dir, '..'), { recursive: true, force: true });
  });

  it('replaces a replica that is killed', async () => {
    const id = await appLauncher('Sturdy');
    const app = await activate(id, { minReplicas: 1 });
    await settled(id, 'to have its replica ready', (a) => a.readyReplicas === 1);
    const link = app.url;
    const before = await echoed(await originFetch(link));
    process.kill(before.pid, 'SIGKILL');
    const after = await waitFor('a new replica to answer', async () => {
      const res = await originFetch(link);
      if (res.status !== 200) return undefined;
      const seen = await echoed(res);
      return seen.pid !== before.pid ? seen : undefined;
    });
    expect(isRunning(before.pid)).toBe(false);
    expect(after.pid).not.toBe(before.pid);
    expect(await status(id)).toMatchObject({ status: 'active', readyReplicas: 1, replicas: [expect.objectContaining({ phase: 'ready' })] });
  });

  it('fails an app whose replica keeps crashing soon after it starts, with its last output, after restarting it a few times', async () => {
    // Ready, then ended by `timeout` (exit code 124), again and again. Three seconds: on a loaded
    // machine Node takes over one to listen, and a program that never got ready is another failure.
    const script = `echo "app program: the model does not fit in memory"; exec timeout 3 "${process.execPath}" "${APP_PROGRAM}"`;
    const id = await appLauncher('Crashy', {}, { script });
    await activate(id, { minReplicas: 1 });
    const failed = await settled(id, 'to fail', (a) => a.status === 'failed', 90_000);
    expect(failed.message).toMatch(/^replica r1 keeps crashing: it stopped 3 times in a row, each within 60 s of starting; the last time it exited with code 124; last output:\n/);
    expect(failed.message).toMatch(/app program: the model does not fit in memory/);
    expect(failed).toMatchObject({ desiredReplicas: 0, readyReplicas: 0 });
    // It was started three times (each run says so first), and not again once failed.
    const logs = await call(`${p.api}/apps/${id}/logs?lines=200`, { token: dana });
    expect(logs.body.lines.filter((l: string) => l === '[r1] app program: the model does not fit in memory').length).toBeGreaterThanOrEqual(3);
    expect((await originFetch(failed.url)).status).toBe(502);
  });

  it('reports an app whose replica never becomes ready, with its last log lines, and answers 503 while it waits', async () => {
    const id = await appLauncher('Never ready', { APP_NEVER_LISTEN: '1' });
    const app = await activate(id);
    const link = app.url;
    // The wake deadline (2.5 s) comes before the readiness deadline (4 s).
    const waiting = await originFetch(link);
    expect(waiting.status).toBe(503);
    expect(waiting.headers.get('retry-after')).toBe('10');
    expect(await waiting.text()).toMatch(/did not start within 3 s/);
    const failed = await settled(id, 'to fail', (a) => a.status === 'failed');
    expect(failed.message).toMatch(/^replica r1 did not become ready: did not answer on port \d+ at \/ within 4 s; last output:/);
    expect(failed.message).toMatch(/loading the model, this takes forever/);
    expect(failed).toMatchObject({ desiredReplicas: 0, readyReplicas: 0 });
    const page = await originFetch(link);
    expect(page.status).toBe(502);
    expect(await page.text()).toMatch(/This app could not start/);
    const logs = await call(`${p.api}/apps/${id}/logs`, { token: dana });
    expect(logs.body.lines).toContain('[r1] app program: loading the model, this takes forever');
    const nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    try {
      const events = await waitFor('apps.app.failed', async () => {
        const found = (await readStream(nc, 'APPS', 'apps.app.failed')).filter((e) => e.data.data.launcherId === id);
        return found.length > 0 ? found : undefined;
      });
      expect(events[0]!.data.data.message).toBe(failed.message);
    } finally {
      await nc.close();
    }
  });

  it('holds at most the queue limit of requests while the app wakes, and refuses the others with Retry-After', async () => {
    const id = await appLauncher('Slow starter', { APP_START_DELAY_MS: '1500' });
    const app = await activate(id);
    const answers = await Promise.all(Array.from({ length: 5 }, () => originFetch(app.url)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 503, 503]);
    const refused = answers.find((r) => r.status === 503)!;
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.text()).toMatch(/cannot answer yet: 3 requests are already waiting for it\./);
    for (const ok of answers.filter((r) => r.status === 200)) expect(ok.headers.get('x-launchpad-activation')).toMatch(/^cold-start; waited=\d+ms$/);
  });

  it('answers the logs of an app that wrote megabytes, within one reply, and follows them', async () => {
    // 6000 lines of about 310 bytes before it listens: 5000 of them are 1.5 MB, more than NATS carries in one message.
    const script = `i=0; while [ $i -lt 6000 ]; do printf 'line %d %0300d\\n' "$i" 0; i=$((i+1)); done; exec "${process.execPath}" "${APP_PROGRAM}"`;
    const id = await appLauncher('Chatty', {}, { script });
    await activate(id, { minReplicas: 1 });
    await settled(id, 'to have its replica ready', (a) => a.readyReplicas === 1);
    const logs = await call(`${p.api}/apps/${id}/logs?lines=5000`, { token: dana });
    expect(logs.status).toBe(200);
    const lines: string[] = logs.body.lines;
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.length).toBeLessThan(5000);
    // The last lines, whole: the program's own, after the last one the script wrote.
    expect(lines.slice(-5)).toEqual(expect.arrayContaining([expect.stringMatching(/^\[r1\] app program listening on \d+$/)]));
    expect(lines.filter((l) => l.startsWith('[r1] line ')).every((l) => /^\[r1\] line \d+ 0{300}$/.test(l))).toBe(true);
    expect(lines).toContain(`[r1] line 5999 ${'0'.repeat(300)}`);
    const followed = await readSse(`${p.api}/apps/${id}/logs?follow=true&lines=5000`, { authorization: `Bearer ${dana}` }, (events) => events.length >= 100);
    expect(followed.status).toBe(200);
    // The apps service is still there to answer.
    expect((await originFetch(`${p.services.apps!.url}/readyz`)).status).toBe(200);
    expect((await call(`${p.api}/apps/${id}/logs?lines=10`, { token: dana })).body.lines).toHaveLength(10);
  });

  it('fails an app with nothing to run, saying exactly that, and runs it once a Procfile is there', async () => {
    const id = await appLauncher('Empty', {}, 'nothing');
    await activate(id);
    const failed = await settled(id, 'to fail', (a) => a.status === 'failed');
    expect(failed.message).toBe(
      'nothing to run: launcher "Empty" has no command, and no repository of its project has a Procfile with a "web:" line (looked in "notes"). ' +
        'Give the launcher a command, or add a Procfile with a line such as "web: python app.py" to the repository.',
    );
    expect(failed.command).toBeNull();
    // The fix: a Procfile in the repository, then activate again.
    writeFileSync(join(notes.dir, 'Procfile'), 'web: node app.js\n');
    writeFileSync(join(notes.dir, 'app.js'), APP_JS);
    execFileSync('git', ['-C', notes.dir, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', 'add', '.']);
    execFileSync('git', ['-C', notes.dir, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', 'commit', '-q', '-m', 'serve it']);
    const again = await activate(id);
    expect(again).toMatchObject({ status: 'active', message: null });
    const res = await originFetch(again.url);
    expect(res.status).toBe(200);
    expect((await echoed(res)).url).toBe('/');
    expect((await status(id)).command).toEqual({ source: 'procfile', repository: 'notes', line: 'node app.js' });
  });
});
