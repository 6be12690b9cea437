import type { WorkloadPhase, WorkloadStatus } from '../runtime.js';
import { type CrashRecord, parseReplicaId, type PlannedApp, planAppReplicas, replicaId } from './app-replicas-plan.js';

const appId = '11111111-2222-4333-8444-555555555555';
const app = (over: Partial<PlannedApp> = {}): PlannedApp => ({ appId, generation: 2, replicas: 2, removeFirst: [], drainMs: 5000, specHash: 'h1', ...over });
const r = (ordinal: number, generation = 2) => replicaId(appId, generation, ordinal);
const workload = (id: string, phase: WorkloadPhase, over: Partial<WorkloadStatus> = {}): WorkloadStatus => ({
  id,
  kind: 'app',
  owner: { service: 'apps', id: appId },
  phase,
  reason: null,
  restarts: 0,
  specHash: 'h1',
  endpoint: phase === 'ready' || phase === 'starting' ? `http://127.0.0.1:${4000 + (parseReplicaId(id)?.ordinal ?? 0)}` : null,
  message: null,
  exitCode: null,
  startedAt: '2026-11-25T12:00:00.000Z',
  readyAt: phase === 'ready' ? '2026-11-25T12:00:01.000Z' : null,
  ...over,
});
const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const none = new Map<string, number>();
const noCrashes = new Map<string, CrashRecord>();
const restart = { backoffMs: 100, maxBackoffMs: 10_000, windowMs: 60_000 };
const idle: { busy: (w: WorkloadStatus) => boolean; maxMs: number } = { busy: () => false, maxMs: 60_000 };
const plan = (a: PlannedApp, ws: WorkloadStatus[], now = T0, draining: ReadonlyMap<string, number> = none, crashes = noCrashes, drain = idle) =>
  planAppReplicas(a, ws, now, draining, crashes, restart, drain);

describe('planAppReplicas (the process driver’s Deployment controller)', () => {
  it('starts the replicas an app wants, and routes only to the ready ones, in order', () => {
    expect(plan(app(), [])).toMatchObject({ actions: [{ kind: 'start', id: r(1) }, { kind: 'start', id: r(2) }], endpoints: [] });
    expect(plan(app(), [workload(r(2), 'ready'), workload(r(1), 'starting')])).toMatchObject({ actions: [], endpoints: ['http://127.0.0.1:4002'] });
  });

  it('starts a stopped replica again, with its files', () => {
    expect(plan(app({ replicas: 1 }), [workload(r(1), 'stopped')]).actions).toEqual([{ kind: 'start', id: r(1) }]);
  });

  it('restarts a replica that crashed after it had been ready, after a backoff that doubles with each quick crash', () => {
    const crashed = workload(r(1), 'failed', { readyAt: '2026-11-25T12:00:01.000Z', message: 'was killed by SIGKILL' });
    const first = plan(app({ replicas: 1 }), [crashed], T0 + 1_000);
    expect(first.actions).toEqual([]);
    expect(first.crashes.get(r(1))).toEqual({ streak: 1, notBefore: T0 + 1_100, run: crashed.startedAt });
    expect(first.wakeInMs).toBe(100);
    expect(plan(app({ replicas: 1 }), [crashed], T0 + 1_100, none, first.crashes).actions).toEqual([{ kind: 'restart', id: r(1) }]);
    // Its next run crashes soon too: the streak grows, and so does the wait.
    const again = workload(r(1), 'failed', { startedAt: '2026-11-25T12:00:02.000Z', readyAt: '2026-11-25T12:00:02.500Z' });
    const second = plan(app({ replicas: 1 }), [again], T0 + 3_000, none, first.crashes);
    expect(second.crashes.get(r(1))).toMatchObject({ streak: 2, notBefore: T0 + 3_200 });
    // After a long run, a crash starts the streak again.
    const late = workload(r(1), 'failed', { startedAt: '2026-11-25T12:00:02.000Z', readyAt: '2026-11-25T12:00:02.500Z' });
    expect(plan(app({ replicas: 1 }), [late], T0 + 2_000 + 61_000, none, new Map([[r(1), { streak: 4, notBefore: 0, run: 'older' }]])).crashes.get(r(1))).toMatchObject({ streak: 1 });
  });

  it('leaves a replica that never became ready failed while none serves, and restarts it while another one does', () => {
    const never = workload(r(1), 'failed', { message: 'did not answer on port 4001 at / within 3 s' });
    expect(plan(app({ replicas: 1 }), [never], T0 + 10_000)).toMatchObject({ actions: [], endpoints: [] });
    const slow = workload(r(2), 'failed', { message: 'did not answer on port 4002 at / within 3 s' });
    const serving = plan(app(), [workload(r(1), 'ready'), slow], T0 + 10_000, none, new Map([[r(2), { streak: 1, notBefore: T0, run: slow.startedAt! }]]));
    expect(serving).toMatchObject({ actions: [{ kind: 'restart', id: r(2) }], endpoints: ['http://127.0.0.1:4001'] });
  });

  it('takes the replicas beyond the count out of rotation at once, the ones asked for first, and stops them after the drain time', () => {
    const workloads = [workload(r(1), 'ready'), workload(r(2), 'ready'), workload(r(3), 'ready')];
    expect(plan(app({ replicas: 1 }), workloads).actions).toEqual([
      { kind: 'drain', id: r(3) },
      { kind: 'drain', id: r(2) },
    ]);
    expect(plan(app({ replicas: 2, removeFirst: [r(1)] }), workloads).actions).toEqual([{ kind: 'drain', id: r(1) }]);
    const draining = new Map([
      [r(2), T0],
      [r(3), T0],
    ]);
    const during = plan(app({ replicas: 1 }), workloads, T0 + 4_999, draining);
    expect(during).toMatchObject({ actions: [], endpoints: ['http://127.0.0.1:4001'], wakeInMs: 1 });
    expect(plan(app({ replicas: 1 }), workloads, T0 + 5_000, draining).actions).toEqual([
      { kind: 'stop', id: r(2) },
      { kind: 'stop', id: r(3) },
    ]);
    // A draining replica wanted again is back in rotation, never stopped.
    expect(plan(app({ replicas: 3 }), workloads, T0 + 5_000, draining)).toMatchObject({
      actions: [{ kind: 'undrain', id: r(2) }, { kind: 'undrain', id: r(3) }],
      endpoints: ['http://127.0.0.1:4001', 'http://127.0.0.1:4002', 'http://127.0.0.1:4003'],
    });
  });

  it('keeps a draining replica that still serves requests until they end, at most the longest drain', () => {
    const workloads = [workload(r(1), 'ready'), workload(r(2), 'ready'), workload(r(3), 'ready')];
    const draining = new Map([
      [r(2), T0],
      [r(3), T0],
    ]);
    const busy = { busy: (w: WorkloadStatus) => w.id === r(2), maxMs: 60_000 };
    expect(plan(app({ replicas: 1 }), workloads, T0 + 6_000, draining, noCrashes, busy).actions).toEqual([{ kind: 'stop', id: r(3) }]);
    expect(plan(app({ replicas: 1 }), workloads, T0 + 60_000, draining, noCrashes, busy).actions).toEqual([
      { kind: 'stop', id: r(2) },
      { kind: 'stop', id: r(3) },
    ]);
  });

  it('leaves stopped and failed replicas beyond the count alone (their files and reasons stay)', () => {
    expect(plan(app({ replicas: 0 }), [workload(r(1), 'stopped'), workload(r(2), 'failed')]).actions).toEqual([]);
  });

  it('removes replicas of another generation and anything that is not a replica of the app', () => {
    const result = plan(app({ replicas: 1 }), [workload(r(1, 1), 'ready'), workload('stray', 'ready'), workload(r(1), 'ready')]);
    expect(result.actions).toEqual([
      { kind: 'remove', id: r(1, 1) },
      { kind: 'remove', id: 'stray' },
    ]);
    expect(result.endpoints).toEqual(['http://127.0.0.1:4001']);
  });

  it('rolls a replica that runs an older template', () => {
    expect(plan(app({ replicas: 1, specHash: 'h2' }), [workload(r(1), 'ready')]).actions).toEqual([{ kind: 'roll', id: r(1) }]);
    // One of unknown hash (started by an older version) is left running.
    expect(plan(app({ replicas: 1, specHash: 'h2' }), [workload(r(1), 'ready', { specHash: null })]).actions).toEqual([]);
  });
});
