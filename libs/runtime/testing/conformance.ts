/**
 * The behaviour every Runtime driver owes its callers (the session and replica reconcilers),
 * written once against the interface and run against each driver:
 *
 *   runtimeConformance('process', async () => ({ runtime, program, cleanup }));
 *
 * A driver's test supplies the programs (`ConformanceSubject.program`): specs that run, in that
 * driver's world, a server that answers 200 on its base URL, or a program that exits at once.
 * Nothing here knows how a driver runs them, so what it asserts is only what the interface says.
 * Not part of the library's build (outside src/); jest's globals are assumed.
 */
import { randomBytes } from 'node:crypto';
import { type AppWorkloadStatus, isActive, type LogLine, type Runtime, type WorkloadEvent, type WorkloadSpec, type WorkloadStatus } from '../src/runtime.js';
import { RuntimeError, RuntimeErrorCode } from '../src/runtime-error.js';
import { workloadSpecHash } from '../src/spec-hash.js';

export type ConformanceProgram =
  /** Answers 200 on `baseUrl` + `defaultUrl`, and prints `conformance: <CONFORMANCE_TEXT>` when it starts (see also `say`). */
  | 'serve'
  /** Prints `conformance: about to fail` and exits with code 3 at once, before it is ready. */
  | 'exit';

export interface ConformanceSubject {
  runtime: Runtime;
  /** A spec for `id` that runs `program` in this driver (the rest of the spec is the driver's to fill in). */
  program(id: string, program: ConformanceProgram, env?: Record<string, string>): WorkloadSpec;
  /** Makes the running workload print `conformance: <text>` (the process driver asks its server; a stand-in writes its pod's log). */
  say(status: WorkloadStatus, text: string): Promise<void>;
  /** Ends what the test made: called after each test, whatever happened. */
  cleanup(): Promise<void>;
  /** How long a workload may take to become ready; default 30 s. */
  readyTimeoutMs?: number;
}

const uniqueId = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

async function eventually<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== null && value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export function runtimeConformance(name: string, makeSubject: () => Promise<ConformanceSubject>): void {
  describe(`Runtime conformance: ${name}`, () => {
    let subject: ConformanceSubject;
    let runtime: Runtime;
    let timeoutMs: number;

    beforeEach(async () => {
      subject = await makeSubject();
      runtime = subject.runtime;
      timeoutMs = subject.readyTimeoutMs ?? 30_000;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    const phaseOf = (id: string, phase: WorkloadStatus['phase']) =>
      eventually(`${id} to be ${phase}`, async () => {
        const status = await runtime.status(id);
        if (status && status.phase !== phase && (status.phase === 'failed' || status.phase === 'stopped') && phase !== 'failed' && phase !== 'stopped') {
          throw new Error(`${id} is ${status.phase} (${status.reason}): ${status.message}`);
        }
        return status?.phase === phase ? status : null;
      }, timeoutMs);

    /** Applies `changed` to a ready workload and waits until it runs it (a new spec hash, ready), then for `output` in its logs. */
    const rollTo = async (changed: WorkloadSpec, what: string, output: string) => {
      await runtime.ensureRunning(changed);
      const rolled = await eventually(
        `the workload to run ${what}`,
        async () => {
          const status = await runtime.status(changed.id);
          return status?.phase === 'ready' && status.specHash === runtime.specHash(changed) ? status : null;
        },
        timeoutMs,
      );
      await eventually(`${output} in its output`, async () => (await runtime.logs(changed.id, 100)).some((l) => l.includes(output)), timeoutMs);
      return rolled;
    };

    it('runs a workload to ready, reachable at its endpoint, with its owner, kind and spec hash, and says so to watchers', async () => {
      const events: WorkloadEvent[] = [];
      const unwatch = runtime.watch((event) => events.push(event));
      const spec = subject.program(uniqueId('conf'), 'serve');
      const first = await runtime.ensureRunning(spec);
      expect(first).toMatchObject({ id: spec.id, kind: spec.kind, owner: spec.owner });
      expect(isActive(first.phase) || first.phase === 'ready').toBe(true);
      const ready = await phaseOf(spec.id, 'ready');
      expect(ready).toMatchObject({ id: spec.id, kind: spec.kind, owner: spec.owner, reason: null, specHash: runtime.specHash(spec), restarts: 0 });
      // Keyed (a spec holds secret values): not what anyone could recompute from the spec, whatever key another runtime has.
      expect(ready.specHash).not.toBe(workloadSpecHash(spec, Buffer.alloc(32, 0)));
      expect(ready.endpoint).toMatch(/^https?:\/\//);
      expect(ready.readyAt).not.toBeNull();
      const listed = (await runtime.list()).find((w) => w.id === spec.id);
      expect(listed).toMatchObject({ phase: 'ready', endpoint: ready.endpoint });
      await eventually('a ready event', async () => events.some((e) => e.id === spec.id && e.status.phase === 'ready'), timeoutMs);
      unwatch();
    });

    it('starts nothing new for a workload that runs with the same spec, and rolls it when the spec changes', async () => {
      const spec = subject.program(uniqueId('conf'), 'serve', { CONFORMANCE_TEXT: 'first' });
      await runtime.ensureRunning(spec);
      const ready = await phaseOf(spec.id, 'ready');
      const again = await runtime.ensureRunning(spec);
      expect(again).toMatchObject({ phase: 'ready', startedAt: ready.startedAt, specHash: ready.specHash });

      const rolled = await rollTo({ ...spec, env: { ...spec.env, CONFORMANCE_TEXT: 'second' } }, 'the new spec', 'conformance: second');
      expect(rolled.specHash).not.toBe(ready.specHash);
    });

    it('gives the program its secret variables like plain ones (a secret one winning), and rolls it when a secret value changes', async () => {
      const plain = subject.program(uniqueId('conf'), 'serve', { CONFORMANCE_TEXT: 'plain loses' });
      const spec: WorkloadSpec = { ...plain, secretEnv: { CONFORMANCE_TEXT: 'hidden first' } };
      await runtime.ensureRunning(spec);
      const ready = await phaseOf(spec.id, 'ready');
      expect(ready.specHash).toBe(runtime.specHash(spec));
      await eventually('the secret value in its output', async () => (await runtime.logs(spec.id, 100)).some((l) => l.includes('conformance: hidden first')), timeoutMs);

      const rolled = await rollTo({ ...spec, secretEnv: { CONFORMANCE_TEXT: 'hidden second' } }, 'the new secret value', 'conformance: hidden second');
      expect(rolled.specHash).not.toBe(ready.specHash);
    });

    it('stops a workload keeping it (status stopped), starts it again, and removes it for good', async () => {
      const spec = subject.program(uniqueId('conf'), 'serve');
      await runtime.ensureRunning(spec);
      await phaseOf(spec.id, 'ready');
      await runtime.stop(spec.id);
      await phaseOf(spec.id, 'stopped');
      expect((await runtime.status(spec.id))?.endpoint ?? null).toBeNull();
      await runtime.stop(spec.id); // idempotent
      await runtime.ensureRunning(spec);
      await phaseOf(spec.id, 'ready');
      await runtime.remove(spec.id);
      await eventually('the workload to be gone', async () => (await runtime.status(spec.id)) === null, timeoutMs);
      expect((await runtime.list()).some((w) => w.id === spec.id)).toBe(false);
      await runtime.remove(spec.id); // idempotent
      await runtime.stop(uniqueId('never-heard-of'));
      expect(await runtime.status(uniqueId('never-heard-of'))).toBeNull();
    });

    it('reports a program that exits as failed with a reason and its last output (or, if the runtime restarts it, as a crash loop)', async () => {
      const spec = subject.program(uniqueId('conf'), 'exit');
      await runtime.ensureRunning(spec);
      const failed = await phaseOf(spec.id, 'failed');
      if (runtime.restartsCrashedPrograms) expect(failed.reason).toBe('CrashLoopBackOff');
      else expect(failed.reason).toBe('Exited');
      expect(failed.message).toContain('about to fail');
      expect(failed.endpoint).toBeNull();
    });

    it('refuses an id that is no DNS-1123 label, with a code that says not to retry', async () => {
      const spec = subject.program('Not_A_Label', 'serve');
      const error = await runtime.ensureRunning(spec).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RuntimeError);
      expect(error).toMatchObject({ code: RuntimeErrorCode.INVALID_SPEC, retryable: false });
    });

    it('gives the last lines of its output, and streams them: the tail, then what follows, until aborted', async () => {
      const spec = subject.program(uniqueId('conf'), 'serve', { CONFORMANCE_TEXT: 'hello logs' });
      await runtime.ensureRunning(spec);
      await phaseOf(spec.id, 'ready');
      await eventually('its output', async () => (await runtime.logs(spec.id, 50)).some((l) => l.includes('conformance: hello logs')), timeoutMs);
      expect(await runtime.logs(spec.id, 0)).toEqual([]);
      expect(await runtime.logs(uniqueId('never-heard-of'), 10)).toEqual([]);

      const tail: LogLine[] = [];
      for await (const line of runtime.streamLogs(spec.id, { tailLines: 50 })) tail.push(line);
      expect(tail.map((l) => l.text).some((t) => t.includes('conformance: hello logs'))).toBe(true);

      const abort = new AbortController();
      const followed: string[] = [];
      const done = (async () => {
        for await (const line of runtime.streamLogs(spec.id, { tailLines: 1, follow: true, signal: abort.signal })) followed.push(line.text);
      })();
      await eventually('the followed tail', async () => followed.length >= 1, timeoutMs);
      await subject.say((await runtime.status(spec.id))!, 'said while followed');
      await eventually('the line written while following', async () => followed.some((t) => t.includes('conformance: said while followed')), timeoutMs);
      abort.abort();
      await done; // ends once aborted
      const unknown: LogLine[] = [];
      for await (const line of runtime.streamLogs(uniqueId('never-heard-of'), { follow: true })) unknown.push(line);
      expect(unknown).toEqual([]);
    });

    const appTemplate = (appId: string, env: Record<string, string> = {}) => {
      const { id: _id, kind: _kind, owner: _owner, ...template } = subject.program(`${appId}-g1-r1`, 'serve', env);
      return template;
    };
    const appWith = (appId: string, what: string, until: (status: AppWorkloadStatus) => boolean) =>
      eventually(`app ${appId} ${what}`, async () => {
        const status = await runtime.appStatus(appId);
        return status && until(status) ? status : null;
      }, timeoutMs);

    it('runs an app as replicas of one template, scales it through the scale call removing the replica asked for first, and removes it', async () => {
      const appId = uniqueId('app');
      const ensured = await runtime.ensureApp({ appId, template: appTemplate(appId), generation: 1, replicas: 2, drainMs: 0 });
      expect(ensured).toMatchObject({ appId, generation: 1, replicas: 2 });
      const two = await appWith(appId, 'to have 2 ready replicas', (s) => s.readyReplicas === 2 && s.endpoints.length === 2);
      expect(two.specHash).toBe(runtime.specHash(appTemplate(appId)));
      const wanted = two.instances.filter((w) => w.phase === 'ready');
      expect(wanted).toHaveLength(2);
      for (const w of wanted) expect(w).toMatchObject({ kind: 'app', owner: { service: 'apps', id: appId }, specHash: two.specHash });
      // The replicas are workloads too: list() shows them with their owner.
      expect((await runtime.list()).filter((w) => w.owner.service === 'apps' && w.owner.id === appId && w.phase === 'ready')).toHaveLength(2);

      const [keep, drop] = [wanted[1]!, wanted[0]!];
      await runtime.scaleApp(appId, 1, [drop.id]);
      const one = await appWith(appId, 'to have 1 ready replica in rotation', (s) => s.endpoints.length === 1 && s.replicas === 1);
      expect(one.endpoints).toEqual([keep.endpoint]);
      await eventually('the replica asked for to be gone or stopped', async () => {
        const status = await runtime.appStatus(appId);
        const dropped = status?.instances.find((w) => w.id === drop.id);
        return !dropped || dropped.phase === 'stopped';
      }, timeoutMs);

      await runtime.removeApp(appId);
      await eventually('the app to be gone', async () => (await runtime.appStatus(appId)) === null, timeoutMs);
      expect((await runtime.list()).some((w) => w.owner.service === 'apps' && w.owner.id === appId)).toBe(false);
      await runtime.removeApp(appId); // idempotent
      expect(await runtime.scaleApp(uniqueId('never-heard-of'), 3)).toBeNull();
    });

    it('rolls an app’s replicas onto a changed template, and replaces a generation with the next', async () => {
      const appId = uniqueId('app');
      await runtime.ensureApp({ appId, template: appTemplate(appId, { CONFORMANCE_TEXT: 'v1' }), generation: 1, replicas: 1, drainMs: 0 });
      await appWith(appId, 'to be ready', (s) => s.readyReplicas === 1);
      const v2 = appTemplate(appId, { CONFORMANCE_TEXT: 'v2' });
      await runtime.ensureApp({ appId, template: v2, generation: 1, replicas: 1, drainMs: 0 });
      await appWith(appId, 'to run the new template', (s) => s.readyReplicas === 1 && s.instances.every((w) => w.phase !== 'ready' || w.specHash === runtime.specHash(v2)));
      await runtime.ensureApp({ appId, template: v2, generation: 2, replicas: 1, drainMs: 0 });
      const next = await appWith(appId, 'to run generation 2 only', (s) => s.generation === 2 && s.readyReplicas === 1 && s.instances.length === 1);
      expect(next.instances[0]!.phase).toBe('ready');
      await runtime.removeApp(appId);
    });

    it('refuses an app id that could not name its replicas', async () => {
      const error = await runtime.ensureApp({ appId: 'x'.repeat(41), template: appTemplate('x'), generation: 1, replicas: 1 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: RuntimeErrorCode.INVALID_SPEC, retryable: false });
    });
  });
}
