import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpGet, isAlive, ProcessFixture, recordEvents, waitFor } from '../../testing/process-fixtures.js';

/** Real programs (a small node HTTP server), real git, real HTTP; every test has its own data directory. */
describe('ProcessRuntime', () => {
  let fixture: ProcessFixture;

  beforeEach(() => {
    fixture = new ProcessFixture();
  });

  afterEach(async () => {
    await fixture.cleanup();
  });

  it('comes up ready, and its endpoint answers at the base URL with a minimal environment', async () => {
    const runtime = fixture.runtime();
    const spec = fixture.spec({ env: { GREETING: 'hello' } });
    process.env.LP_TEST_MUST_NOT_LEAK = 'secret';
    try {
      const first = await runtime.ensureRunning(spec);
      expect(first).toMatchObject({ id: spec.id, kind: 'session', owner: spec.owner, phase: 'preparing', endpoint: null });

      const ready = await fixture.waitForPhase(runtime, spec.id, 'ready');
      expect(ready.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(ready.startedAt).not.toBeNull();
      expect(ready.readyAt).not.toBeNull();

      const answer = await httpGet(`${ready.endpoint}${spec.baseUrl}`);
      expect(answer.status).toBe(200);
      const seen = JSON.parse(answer.body);
      const port = new URL(ready.endpoint!).port;
      expect(seen.cwd).toBe(fixture.workDir(spec.id));
      expect(seen.env).toEqual({
        PATH: process.env.PATH,
        LANG: process.env.LANG ?? 'C.UTF-8',
        HOME: join(fixture.dataDir, spec.id, 'home'),
        GREETING: 'hello',
        LAUNCHPAD_HOST: '127.0.0.1',
        LAUNCHPAD_PORT: port,
        PORT: port,
        LAUNCHPAD_BASE_URL: spec.baseUrl,
        LAUNCHPAD_WORK_DIR: fixture.workDir(spec.id),
        // Set by the wrapper shell that records the exit code, as any shell does.
        PWD: fixture.workDir(spec.id),
      });
      expect(existsSync(join(fixture.dataDir, spec.id, 'home'))).toBe(true);
    } finally {
      delete process.env.LP_TEST_MUST_NOT_LEAK;
    }
  });

  it('announces preparing, starting and ready to its watchers', async () => {
    const runtime = fixture.runtime();
    const events = recordEvents(runtime);
    const spec = fixture.spec();
    await runtime.ensureRunning(spec);
    await fixture.waitForPhase(runtime, spec.id, 'ready');
    await waitFor('the ready event', async () => events.some((e) => e.status.phase === 'ready'));
    expect(events.map((e) => [e.id, e.status.phase])).toEqual([
      [spec.id, 'preparing'],
      [spec.id, 'starting'],
      [spec.id, 'ready'],
    ]);
    expect(events[1]?.status.endpoint).toBe(events[2]?.status.endpoint);
  });

  it('expands $(VAR) in args as Kubernetes does, $$( being an escape', async () => {
    const runtime = fixture.runtime();
    const spec = fixture.spec({
      env: { GREETING: 'hello' },
      args: [fixture.script, '--greeting=$(GREETING)', '--escaped=$$(GREETING)', '--undefined=$(NOT_DEFINED)', '--port=$(PORT)', '--base=$(LAUNCHPAD_BASE_URL)'],
    });
    await runtime.ensureRunning(spec);
    const ready = await fixture.waitForPhase(runtime, spec.id, 'ready');
    const seen = JSON.parse((await httpGet(`${ready.endpoint}${spec.baseUrl}`)).body);
    expect(seen.argv).toEqual([
      '--greeting=hello',
      '--escaped=$(GREETING)',
      '--undefined=$(NOT_DEFINED)',
      `--port=${new URL(ready.endpoint!).port}`,
      `--base=${spec.baseUrl}`,
    ]);
  });

  it('clones repositories into work/<name>, and never again after a stop: the work directory survives', async () => {
    const runtime = fixture.runtime();
    const analysis = fixture.gitRepository('analysis', { 'README.md': '# analysis\n' });
    const data = fixture.gitRepository('data', { 'rows.csv': 'a,b\n1,2\n' });
    const spec = fixture.spec({ repositories: [{ name: 'analysis', url: analysis }, { name: 'data', url: data }] });

    await runtime.ensureRunning(spec);
    await fixture.waitForPhase(runtime, spec.id, 'ready');
    const work = fixture.workDir(spec.id);
    expect(readFileSync(join(work, 'analysis', 'README.md'), 'utf8')).toBe('# analysis\n');
    expect(readFileSync(join(work, 'data', 'rows.csv'), 'utf8')).toBe('a,b\n1,2\n');
    expect(existsSync(join(work, 'analysis', '.git'))).toBe(true);

    writeFileSync(join(work, 'analysis', 'notebook.ipynb'), '{"cells": []}');
    fixture.commit(analysis, { 'LATER.md': 'upstream moved on\n' });
    await runtime.stop(spec.id);
    expect((await runtime.status(spec.id))?.phase).toBe('stopped');

    await runtime.ensureRunning(spec);
    await fixture.waitForPhase(runtime, spec.id, 'ready');
    expect(readFileSync(join(work, 'analysis', 'notebook.ipynb'), 'utf8')).toBe('{"cells": []}');
    expect(existsSync(join(work, 'analysis', 'LATER.md'))).toBe(false);
    expect(fixture.starts(spec.id)).toHaveLength(2);
  });

  it('fails, naming the repository and quoting git, when a clone fails', async () => {
    const runtime = fixture.runtime();
    const spec = fixture.spec({ repositories: [{ name: 'missing', url: join(fixture.root, 'no-such-repository') }] });
    await runtime.ensureRunning(spec);
    const failed = await fixture.waitForPhase(runtime, spec.id, 'failed');
    expect(failed.message).toContain('could not clone repository "missing"');
    expect(failed.message).toMatch(/fatal: .*no-such-repository/);
    expect(failed.endpoint).toBeNull();
    expect(existsSync(join(fixture.workDir(spec.id), 'missing'))).toBe(false);
    expect(existsSync(join(fixture.workDir(spec.id), '.missing.cloning'))).toBe(false);
    expect(fixture.starts(spec.id)).toEqual([]);
  });

  it('fails with an actionable message when the command is not installed', async () => {
    const runtime = fixture.runtime();
    const spec = fixture.spec({ command: ['launchpad-no-such-command'], args: ['--port=$(PORT)'] });
    await runtime.ensureRunning(spec);
    const failed = await fixture.waitForPhase(runtime, spec.id, 'failed');
    expect(failed.message).toBe(
      "command not found: launchpad-no-such-command (the process runtime runs the environment's command on this machine: install it, or change the environment's command)",
    );
    expect(failed.exitCode).toBeNull();
    expect(fixture.stateFile(spec.id).pid).toBeNull();
  });

  it('fails with a clear message when the command is empty', async () => {
    const runtime = fixture.runtime();
    const spec = fixture.spec({ command: [], args: ['--verbose'] });
    await runtime.ensureRunning(spec);
    const failed = await fixture.waitForPhase(runtime, spec.id, 'failed');
    expect(failed.message).toMatch(/no command to run/);
  });

  it('a program that exits before it is ready fails with its exit code and its last output', async () => {
    const runtime = fixture.runtime();
    const spec = fixture.spec({ env: { PRINT_LINES: '30', EXIT_BEFORE_READY: '3' } });
    await runtime.ensureRunning(spec);
    const failed = await fixture.waitForPhase(runtime, spec.id, 'failed');
    expect(failed.exitCode).toBe(3);
    const [headline, ...lines] = failed.message!.split('\n');
    expect(headline).toBe('exited with code 3 before it was ready; last output:');
    expect(lines).toHaveLength(20);
    expect(lines.at(0)).toBe('line 12');
    expect(lines.at(-2)).toBe('line 30');
    expect(lines.at(-1)).toBe('giving up');
  });

  it('a program that never answers is stopped and failed after the readiness timeout', async () => {
    const runtime = fixture.runtime({ readinessTimeoutMs: 1_500 });
    const spec = fixture.spec({ env: { NEVER_READY: '1', PRINT_LINES: '2' } });
    await runtime.ensureRunning(spec);
    const failed = await fixture.waitForPhase(runtime, spec.id, 'failed');
    const port = fixture.stateFile(spec.id).port;
    expect(failed.message).toBe(`did not answer on port ${port} at /sessions/${spec.id}/lab within 1.5 s; last output:\nline 1\nline 2`);
    expect(failed.endpoint).toBeNull();
    const [pid] = fixture.starts(spec.id);
    await waitFor('the program to be gone', async () => !isAlive(pid!));
  });

  it('a program that exits once ready fails with its exit code', async () => {
    const runtime = fixture.runtime();
    const events = recordEvents(runtime);
    const spec = fixture.spec();
    await runtime.ensureRunning(spec);
    const ready = await fixture.waitForPhase(runtime, spec.id, 'ready');
    await httpGet(`${ready.endpoint}${spec.baseUrl}exit?code=4`);
    const failed = await fixture.waitForPhase(runtime, spec.id, 'failed');
    expect(failed.exitCode).toBe(4);
    expect(failed.message).toMatch(/^exited with code 4; last output:\n/);
    await waitFor('the failed event', async () => events.find((e) => e.status.phase === 'failed'));
  });

  it('stop kills the whole process group, grandchildren that ignore SIGTERM included, and keeps the work directory', async () => {
    const runtime = fixture.runtime({ stopGraceMs: 500 });
    const events = recordEvents(runtime);
    const spec = fixture.spec({ env: { SPAWN_GRANDCHILD: '1', IGNORE_SIGTERM: '1' } });
    await runtime.ensureRunning(spec);
    await fixture.waitForPhase(runtime, spec.id, 'ready');
    const [pid] = fixture.starts(spec.id);
    const grandchild = Number(readFileSync(join(fixture.workDir(spec.id), 'grandchild.pid'), 'utf8'));
    expect(isAlive(pid!)).toBe(true);
    expect(isAlive(grandchild)).toBe(true);

    await runtime.stop(spec.id);
    await waitFor('the program and its child to be gone', async () => !isAlive(pid!) && !isAlive(grandchild));
    const stopped = await runtime.status(spec.id);
    expect(stopped).toMatchObject({ phase: 'stopped', endpoint: null, message: null });
    expect(existsSync(join(fixture.workDir(spec.id), 'starts.log'))).toBe(true);
    expect(events.at(-1)?.status.phase).toBe('stopped');

    await runtime.stop(spec.id);
    await runtime.stop('never-heard-of-it');
    expect((await runtime.status(spec.id))?.phase).toBe('stopped');
  });

  it('remove stops the program and deletes its data; removing again, or an unknown id, does nothing', async () => {
    const runtime = fixture.runtime();
    const spec = fixture.spec();
    await runtime.ensureRunning(spec);
    await fixture.waitForPhase(runtime, spec.id, 'ready');
    const [pid] = fixture.starts(spec.id);

    await runtime.remove(spec.id);
    expect(existsSync(join(fixture.dataDir, spec.id))).toBe(false);
    await waitFor('the program to be gone', async () => !isAlive(pid!));
    expect(await runtime.status(spec.id)).toBeNull();
    expect(await runtime.list()).toEqual([]);
    expect(await runtime.logs(spec.id, 10)).toEqual([]);

    await runtime.remove(spec.id);
    await runtime.remove('never-heard-of-it');
  });

  it('concurrent ensureRunning calls for one workload start one program', async () => {
    const runtime = fixture.runtime();
    const spec = fixture.spec({ env: { LISTEN_DELAY_MS: '300' } });
    const statuses = await Promise.all(Array.from({ length: 5 }, () => runtime.ensureRunning(spec)));
    expect(statuses.map((s) => s.id)).toEqual(Array(5).fill(spec.id));
    await fixture.waitForPhase(runtime, spec.id, 'ready');
    expect(await runtime.ensureRunning(spec)).toMatchObject({ phase: 'ready' });
    expect(fixture.starts(spec.id)).toHaveLength(1);
  });

  it('a failed workload is started afresh, and a preparation cut short is discarded', async () => {
    const runtime = fixture.runtime();
    const upstream = fixture.gitRepository('analysis', { 'README.md': 'real\n' });
    const spec = fixture.spec({ command: ['launchpad-no-such-command'], repositories: [{ name: 'analysis', url: upstream }] });
    await runtime.ensureRunning(spec);
    await fixture.waitForPhase(runtime, spec.id, 'failed');
    await runtime.close();

    // As if a runtime had been killed while cloning a second repository: its state says preparing,
    // by a process that is gone, and a half clone lies in the work directory.
    const state = fixture.stateFile(spec.id);
    fixture.writeStateFile(spec.id, { ...state, phase: 'preparing', message: null, preparer: { pid: 2 ** 22 + 1, startTime: '1', instance: 'gone' } });
    const half = join(fixture.workDir(spec.id), '.data.cloning');
    mkdirSync(half);
    writeFileSync(join(half, 'partial'), 'half');
    const data = fixture.gitRepository('data', { 'rows.csv': 'whole\n' });

    const next = fixture.runtime();
    const interrupted = await next.status(spec.id);
    expect(interrupted).toMatchObject({ phase: 'stopped' });
    expect(interrupted?.message).toMatch(/interrupted/);

    const fixed = { ...spec, command: [process.execPath], repositories: [...spec.repositories, { name: 'data', url: data }] };
    await next.ensureRunning(fixed);
    await fixture.waitForPhase(next, spec.id, 'ready');
    expect(readFileSync(join(fixture.workDir(spec.id), 'data', 'rows.csv'), 'utf8')).toBe('whole\n');
    expect(existsSync(half)).toBe(false);
    expect(readFileSync(join(fixture.workDir(spec.id), 'analysis', 'README.md'), 'utf8')).toBe('real\n');
  });

  it('logs gives the last lines of stdout and stderr', async () => {
    const runtime = fixture.runtime();
    const spec = fixture.spec({ env: { PRINT_LINES: '50' } });
    await runtime.ensureRunning(spec);
    const ready = await fixture.waitForPhase(runtime, spec.id, 'ready');
    const port = new URL(ready.endpoint!).port;
    expect(await runtime.logs(spec.id, 3)).toEqual(['line 49', 'line 50', `listening on ${port}`]);
    expect(await runtime.logs(spec.id, 1000)).toHaveLength(51);
    expect(await runtime.logs(spec.id, 0)).toEqual([]);
    expect(await runtime.logs('never-heard-of-it', 10)).toEqual([]);
  });

  it('logsAfter follows the output from its tail on, across a restart', async () => {
    const runtime = fixture.runtime();
    const spec = fixture.spec({ env: { PRINT_LINES: '3' } });
    await runtime.ensureRunning(spec);
    const port = new URL((await fixture.waitForPhase(runtime, spec.id, 'ready')).endpoint!).port;
    const first = await runtime.logsAfter(spec.id, null, 2);
    expect(first.lines).toEqual(['line 3', `listening on ${port}`]);
    expect(await runtime.logsAfter(spec.id, first.cursor, 2)).toEqual({ lines: [], cursor: first.cursor });
    await runtime.stop(spec.id);
    await runtime.ensureRunning(spec);
    const again = new URL((await fixture.waitForPhase(runtime, spec.id, 'ready')).endpoint!).port;
    const next = await runtime.logsAfter(spec.id, first.cursor, 2);
    expect(next.lines).toEqual(['line 1', 'line 2', 'line 3', `listening on ${again}`]);
    expect(Number(next.cursor)).toBeGreaterThan(Number(first.cursor));
    expect(await runtime.logsAfter('never-heard-of-it', null, 5)).toEqual({ lines: [], cursor: '0' });
  });

  it('list reports every workload', async () => {
    const runtime = fixture.runtime();
    const good = fixture.spec({ id: 'a-good' });
    const bad = fixture.spec({ id: 'b-bad', command: ['launchpad-no-such-command'] });
    await runtime.ensureRunning(good);
    await runtime.ensureRunning(bad);
    await fixture.waitForPhase(runtime, good.id, 'ready');
    await fixture.waitForPhase(runtime, bad.id, 'failed');
    expect((await runtime.list()).map((s) => [s.id, s.phase])).toEqual([
      ['a-good', 'ready'],
      ['b-bad', 'failed'],
    ]);
  });

  it('refuses an id that is not a plain directory name', async () => {
    const runtime = fixture.runtime();
    await expect(runtime.ensureRunning(fixture.spec({ id: '../escape' }))).rejects.toMatchObject({ code: 'INVALID_WORKLOAD_ID' });
    expect(await runtime.status('../escape')).toBeNull();
  });
});
