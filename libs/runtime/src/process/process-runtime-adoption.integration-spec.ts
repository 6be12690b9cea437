import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpGet, isAlive, ProcessFixture, recordEvents, SERVICE_SCRIPT, transpileRuntime, waitFor } from '../../testing/process-fixtures.js';

/**
 * Crash safety: a new ProcessRuntime over the same data directory (our service restarted) finds
 * what the old one started, from the files alone.
 */
describe('ProcessRuntime after a restart', () => {
  let fixture: ProcessFixture;

  beforeEach(() => {
    fixture = new ProcessFixture();
  });

  afterEach(async () => {
    await fixture.cleanup();
  });

  describe('of a service killed with SIGKILL', () => {
    let service: ChildProcess | undefined;

    afterEach(() => {
      if (service?.exitCode === null && service.signalCode === null) service.kill('SIGKILL');
    });

    it('adopts its running program (same process, none started) and notices when it later dies', async () => {
      const runtimeModule = await transpileRuntime(join(fixture.root, 'runtime-build'));
      const servicePath = join(fixture.root, 'service.mjs');
      writeFileSync(servicePath, SERVICE_SCRIPT);
      const spec = fixture.spec();

      service = spawn(process.execPath, [servicePath, runtimeModule, fixture.dataDir, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      service.stdout?.setEncoding('utf8').on('data', (text: string) => (output += text));
      await waitFor('the service to see its workload ready', async () => output.includes('"phase":"ready"'), 30_000);
      const before = fixture.stateFile(spec.id);
      const endpoint = JSON.parse(output.trim().split('\n').at(-1)!).status.endpoint as string;
      const servedBefore = JSON.parse((await httpGet(`${endpoint}${spec.baseUrl}`)).body);

      service.kill('SIGKILL');
      await once(service, 'exit');
      expect(isAlive(before.pid!)).toBe(true);

      const restarted = fixture.runtime();
      const events = recordEvents(restarted);
      expect(await restarted.status(spec.id)).toMatchObject({ phase: 'ready', endpoint });
      expect(await restarted.ensureRunning(spec)).toMatchObject({ phase: 'ready', endpoint });
      expect((await restarted.list()).map((s) => s.id)).toEqual([spec.id]);
      const servedAfter = JSON.parse((await httpGet(`${endpoint}${spec.baseUrl}`)).body);
      expect(servedAfter.pid).toBe(servedBefore.pid);
      expect(fixture.stateFile(spec.id).pid).toBe(before.pid);
      expect(fixture.starts(spec.id)).toEqual([servedBefore.pid]);

      await httpGet(`${endpoint}${spec.baseUrl}exit?code=6`);
      const failed = await waitFor('the adopted program to be seen failing', async () => events.find((e) => e.status.phase === 'failed'));
      expect(failed.status).toMatchObject({ id: spec.id, exitCode: 6, endpoint: null });
      expect(failed.status.message).toMatch(/^exited with code 6; last output:\n/);
      expect(fixture.stateFile(spec.id)).toMatchObject({ phase: 'failed', exitCode: 6 });
    });
  });

  it('resumes readiness polling for a program that was still starting', async () => {
    const first = fixture.runtime();
    const go = join(fixture.root, 'listen-now');
    const spec = fixture.spec({ env: { LISTEN_WHEN: go } });
    await first.ensureRunning(spec);
    await fixture.waitForPhase(first, spec.id, 'starting');
    await first.close();

    const restarted = fixture.runtime();
    const events = recordEvents(restarted);
    expect(await restarted.status(spec.id)).toMatchObject({ phase: 'starting' });
    writeFileSync(go, '');
    const ready = await fixture.waitForPhase(restarted, spec.id, 'ready');
    expect((await httpGet(`${ready.endpoint}${spec.baseUrl}`)).status).toBe(200);
    expect(events.map((e) => e.status.phase)).toEqual(['ready']);
    expect(fixture.starts(spec.id)).toHaveLength(1);
  });

  it('reports as failed, with its exit code, a program that died while no runtime was watching', async () => {
    const first = fixture.runtime();
    const spec = fixture.spec({ env: { PRINT_LINES: '3' } });
    await first.ensureRunning(spec);
    const ready = await fixture.waitForPhase(first, spec.id, 'ready');
    await first.close();
    const pid = fixture.stateFile(spec.id).pid!;
    await httpGet(`${ready.endpoint}${spec.baseUrl}exit?code=7`);
    await waitFor('the program to exit', async () => !isAlive(pid));

    const restarted = fixture.runtime();
    const events = recordEvents(restarted);
    const failed = await restarted.status(spec.id);
    expect(failed).toMatchObject({ phase: 'failed', exitCode: 7, endpoint: null });
    expect(failed?.message).toMatch(/^exited with code 7; last output:\nline 1\nline 2\nline 3\nlistening on \d+$/);
    expect(fixture.stateFile(spec.id)).toMatchObject({ phase: 'failed', exitCode: 7 });
    expect(events.map((e) => [e.id, e.status.phase])).toEqual([[spec.id, 'failed']]);

    // And it can be started again.
    await restarted.ensureRunning(spec);
    await fixture.waitForPhase(restarted, spec.id, 'ready');
    expect(fixture.starts(spec.id)).toHaveLength(2);
  });

  it('keeps a workload stopped on purpose stopped, and finishes a stop that was cut short', async () => {
    const first = fixture.runtime();
    const stopped = fixture.spec({ id: 'a-stopped' });
    const cutShort = fixture.spec({ id: 'b-cut-short' });
    await first.ensureRunning(stopped);
    await first.ensureRunning(cutShort);
    await fixture.waitForPhase(first, stopped.id, 'ready');
    await fixture.waitForPhase(first, cutShort.id, 'ready');
    await first.stop(stopped.id);
    await first.close();
    // As if the runtime had been killed between recording the stop and killing the program.
    const state = fixture.stateFile(cutShort.id);
    fixture.writeStateFile(cutShort.id, { ...state, phase: 'stopped' });
    expect(isAlive(state.pid!)).toBe(true);

    const restarted = fixture.runtime();
    expect((await restarted.list()).map((s) => [s.id, s.phase])).toEqual([
      ['a-stopped', 'stopped'],
      ['b-cut-short', 'stopped'],
    ]);
    await waitFor('the program of the cut-short stop to be killed', async () => !isAlive(state.pid!));
  });

  it('two runtimes over one data directory both see every workload', async () => {
    const acting = fixture.runtime();
    const spec = fixture.spec();
    await acting.ensureRunning(spec);
    await fixture.waitForPhase(acting, spec.id, 'ready');

    const passive = fixture.runtime();
    expect(await passive.list()).toEqual(await acting.list());
    expect(await passive.ensureRunning(spec)).toMatchObject({ phase: 'ready' });
    expect(fixture.starts(spec.id)).toHaveLength(1);
  });

  it('skips a directory that holds no workload state', async () => {
    mkdirSync(join(fixture.dataDir, 'not-a-workload'), { recursive: true });
    const runtime = fixture.runtime();
    expect(await runtime.list()).toEqual([]);
  });
});
