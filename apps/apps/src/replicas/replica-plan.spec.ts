import type { WorkloadPhase, WorkloadStatus } from '@launchpad/runtime';
import { type PlannedApp, parseReplicaId, planReplicas, replicaId, replicaLabel } from './replica-plan.js';

const appId = '11111111-2222-4333-8444-555555555555';
const app = (over: Partial<PlannedApp> = {}): PlannedApp => ({ appId, status: 'active', generation: 2, desiredReplicas: 2, runnable: true, ...over });
const r = (ordinal: number, generation = 2) => replicaId(appId, generation, ordinal);
const workload = (id: string, phase: WorkloadPhase, over: Partial<WorkloadStatus> = {}): WorkloadStatus => ({
  id,
  kind: 'app',
  owner: { service: 'apps', id: appId },
  phase,
  reason: null,
  restarts: 0,
  specHash: null,
  endpoint: phase === 'ready' || phase === 'starting' ? `http://127.0.0.1:${4000 + (parseReplicaId(id)?.ordinal ?? 0)}` : null,
  message: null,
  exitCode: null,
  startedAt: null,
  readyAt: phase === 'ready' ? '2026-11-25T12:00:00.000Z' : null,
  ...over,
});
const none = new Map<string, number>();

describe('replica ids', () => {
  it('name the app, the generation and the replica', () => {
    expect(r(3)).toBe(`${appId}-g2-r3`);
    expect(parseReplicaId(r(3))).toEqual({ appId, generation: 2, ordinal: 3 });
    expect(parseReplicaId('not-a-replica')).toBeNull();
    expect(replicaLabel(r(12))).toBe('r12');
  });
});

describe('planReplicas', () => {
  it('starts the replicas an app wants, and routes only to the ready ones, in order', () => {
    expect(planReplicas(app(), [], 0, none, 5000)).toEqual({
      actions: [
        { kind: 'start', id: r(1), replacing: false },
        { kind: 'start', id: r(2), replacing: false },
      ],
      endpoints: [],
      running: [],
    });
    const plan = planReplicas(app(), [workload(r(2), 'ready'), workload(r(1), 'starting')], 0, none, 5000);
    expect(plan).toEqual({ actions: [], endpoints: ['http://127.0.0.1:4002'], running: [r(2), r(1)] });
  });

  it('starts a stopped replica again, with its files', () => {
    expect(planReplicas(app({ desiredReplicas: 1 }), [workload(r(1), 'stopped')], 0, none, 5000).actions).toEqual([{ kind: 'start', id: r(1), replacing: false }]);
  });

  it('replaces a replica that crashed after it had been ready', () => {
    const crashed = workload(r(1), 'failed', { readyAt: '2026-11-25T12:00:00.000Z', message: 'was killed by SIGKILL' });
    expect(planReplicas(app({ desiredReplicas: 1 }), [crashed], 0, none, 5000).actions).toEqual([{ kind: 'start', id: r(1), replacing: true }]);
  });

  it('fails the app when a replica never became ready, with the runtime’s words', () => {
    const never = workload(r(1), 'failed', { message: 'did not answer on port 4001 at / within 3 s; last output:\nloading' });
    expect(planReplicas(app({ desiredReplicas: 1 }), [never], 0, none, 5000).actions).toEqual([
      { kind: 'fail', id: r(1), message: 'did not answer on port 4001 at / within 3 s; last output:\nloading' },
    ]);
  });

  it('tries a replica that did not become ready again while another one serves', () => {
    const slow = workload(r(2), 'failed', { message: 'did not answer on port 4002 at / within 3 s' });
    expect(planReplicas(app(), [workload(r(1), 'ready'), slow], 0, none, 5000)).toMatchObject({
      actions: [{ kind: 'start', id: r(2), replacing: true }],
      endpoints: ['http://127.0.0.1:4001'],
    });
  });

  it('takes replicas beyond the count out of rotation at once and stops them after the drain time', () => {
    const workloads = [workload(r(1), 'ready'), workload(r(2), 'ready'), workload(r(3), 'ready')];
    const first = planReplicas(app({ desiredReplicas: 1 }), workloads, 1000, none, 5000);
    expect(first.endpoints).toEqual(['http://127.0.0.1:4001']);
    expect(first.actions).toEqual([
      { kind: 'drain', id: r(2) },
      { kind: 'drain', id: r(3) },
    ]);
    const draining = new Map([
      [r(2), 1000],
      [r(3), 1000],
    ]);
    expect(planReplicas(app({ desiredReplicas: 1 }), workloads, 5999, draining, 5000).actions).toEqual([]);
    expect(planReplicas(app({ desiredReplicas: 1 }), workloads, 6000, draining, 5000).actions).toEqual([
      { kind: 'stop', id: r(2) },
      { kind: 'stop', id: r(3) },
    ]);
    // A draining replica wanted again is back in rotation, never stopped.
    expect(planReplicas(app({ desiredReplicas: 3 }), workloads, 6000, draining, 5000)).toMatchObject({ actions: [], endpoints: expect.arrayContaining(['http://127.0.0.1:4003']) });
  });

  it('keeps a draining replica that still serves requests until they end, at most the longest drain', () => {
    const workloads = [workload(r(1), 'ready'), workload(r(2), 'ready'), workload(r(3), 'ready')];
    const draining = new Map([
      [r(2), 1000],
      [r(3), 1000],
    ]);
    // r2 has a request in flight (a slow download, an open WebSocket); r3 has none.
    const busy = (w: WorkloadStatus) => w.id === r(2);
    const options = { busy, maxMs: 60_000 };
    expect(planReplicas(app({ desiredReplicas: 1 }), workloads, 5999, draining, 5000, options).actions).toEqual([]);
    expect(planReplicas(app({ desiredReplicas: 1 }), workloads, 6000, draining, 5000, options).actions).toEqual([{ kind: 'stop', id: r(3) }]);
    expect(planReplicas(app({ desiredReplicas: 1 }), workloads, 60_999, draining, 5000, options).actions).toEqual([{ kind: 'stop', id: r(3) }]);
    expect(planReplicas(app({ desiredReplicas: 1 }), workloads, 61_000, draining, 5000, options).actions).toEqual([
      { kind: 'stop', id: r(2) },
      { kind: 'stop', id: r(3) },
    ]);
    // Its request done, it stops at the next look.
    expect(planReplicas(app({ desiredReplicas: 1 }), workloads, 7000, draining, 5000, { busy: () => false, maxMs: 60_000 }).actions).toHaveLength(2);
  });

  it('leaves stopped replicas beyond the count alone (their files serve the next scale-up)', () => {
    expect(planReplicas(app({ desiredReplicas: 0 }), [workload(r(1), 'stopped'), workload(r(2), 'failed')], 0, none, 5000).actions).toEqual([]);
  });

  it('removes replicas of an older generation and anything that is not a replica of the app', () => {
    const plan = planReplicas(app({ desiredReplicas: 1 }), [workload(r(1, 1), 'ready'), workload('stray', 'ready'), workload(r(1), 'ready')], 0, none, 5000);
    expect(plan.actions).toEqual([
      { kind: 'remove', id: r(1, 1) },
      { kind: 'remove', id: 'stray' },
    ]);
    expect(plan.endpoints).toEqual(['http://127.0.0.1:4001']);
  });

  it('starts nothing while the command is not known yet', () => {
    expect(planReplicas(app({ runnable: false }), [], 0, none, 5000).actions).toEqual([]);
  });

  it('removes everything of an inactive or deleted app, and stops a failed app’s replicas', () => {
    const workloads = [workload(r(1), 'ready'), workload(r(2), 'stopped')];
    expect(planReplicas(app({ status: 'inactive' }), workloads, 0, none, 5000).actions).toEqual([
      { kind: 'remove', id: r(1) },
      { kind: 'remove', id: r(2) },
    ]);
    expect(planReplicas(null, workloads, 0, none, 5000).actions).toHaveLength(2);
    expect(planReplicas(app({ status: 'failed' }), workloads, 0, none, 5000)).toEqual({ actions: [{ kind: 'stop', id: r(1) }], endpoints: [], running: [] });
  });
});
