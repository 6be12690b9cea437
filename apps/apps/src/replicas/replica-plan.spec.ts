import { type AppWorkloadStatus, replicaId, type WorkloadPhase, type WorkloadStatus } from '@launchpad/runtime';
import { type PlannedApp, parseReplicaId, planReplicas, replicaLabel } from './replica-plan.js';

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
  specHash: 'h1',
  endpoint: phase === 'ready' || phase === 'starting' ? `http://127.0.0.1:${4000 + (parseReplicaId(id)?.ordinal ?? 0)}` : null,
  message: null,
  exitCode: null,
  startedAt: null,
  readyAt: phase === 'ready' ? '2026-11-25T12:00:00.000Z' : null,
  appGeneration: parseReplicaId(id)?.generation,
  ...over,
});
const status = (instances: WorkloadStatus[], over: Partial<AppWorkloadStatus> = {}): AppWorkloadStatus => {
  const ready = instances.filter((w) => w.phase === 'ready' && w.appGeneration === 2);
  return { appId, generation: 2, replicas: 2, readyReplicas: ready.length, specHash: 'h1', endpoints: ready.map((w) => w.endpoint!), instances, ...over };
};
const crashes = { limit: 3, windowMs: 60_000 };

describe('replica ids', () => {
  it('name the app, the generation and the replica; a pod keeps its own name', () => {
    expect(parseReplicaId(r(3))).toEqual({ appId, generation: 2, ordinal: 3 });
    expect(parseReplicaId('not-a-replica')).toBeNull();
    expect(replicaLabel(r(12))).toBe('r12');
    expect(replicaLabel('board-7d4b9c-x2x9z')).toBe('board-7d4b9c-x2x9z');
  });
});

describe('planReplicas', () => {
  it('asks the runtime for the app and routes to what it says is ready', () => {
    expect(planReplicas(app(), null, crashes)).toEqual({ step: { kind: 'ensure' }, endpoints: [], failure: null });
    const plan = planReplicas(app(), status([workload(r(1), 'starting'), workload(r(2), 'ready')]), crashes);
    expect(plan).toEqual({ step: { kind: 'ensure' }, endpoints: ['http://127.0.0.1:4002'], failure: null });
  });

  it('routes nowhere while the runtime still has an older generation', () => {
    expect(planReplicas(app(), status([workload(r(1, 1), 'ready')], { generation: 1, endpoints: ['http://127.0.0.1:4001'] }), crashes).endpoints).toEqual([]);
  });

  it('fails the app when a replica never became ready and none serves, with the runtime’s words', () => {
    const never = workload(r(1), 'failed', { reason: 'ReadinessTimeout', message: 'did not answer on port 4001 at / within 3 s; last output:\nloading' });
    expect(planReplicas(app({ desiredReplicas: 1 }), status([never]), crashes).failure).toBe(
      'replica r1 did not become ready: did not answer on port 4001 at / within 3 s; last output:\nloading',
    );
    // While another serves, it is the runtime's to try again.
    expect(planReplicas(app(), status([workload(r(1), 'ready'), never]), crashes).failure).toBeNull();
  });

  it('fails the app when a replica keeps crashing, once the runtime has restarted it `limit` times in a row', () => {
    const looping = (restarts: number) => workload(r(1), 'failed', { reason: 'CrashLoopBackOff', restarts, readyAt: '2026-11-25T12:00:00.000Z', message: 'exited with code 124' });
    expect(planReplicas(app({ desiredReplicas: 1 }), status([looping(2)]), crashes).failure).toBeNull();
    expect(planReplicas(app({ desiredReplicas: 1 }), status([looping(3)]), crashes).failure).toBe(
      'replica r1 keeps crashing: it stopped 3 times in a row, each within 60 s of starting; the last time it exited with code 124',
    );
  });

  it('does not hold an older generation’s failure against a new activation', () => {
    const old = workload(r(1, 1), 'failed', { reason: 'ReadinessTimeout', message: 'did not answer' });
    expect(planReplicas(app(), status([old]), crashes).failure).toBeNull();
  });

  it('starts nothing while the command is not known yet', () => {
    expect(planReplicas(app({ runnable: false }), null, crashes).step).toEqual({ kind: 'none' });
  });

  it('removes everything of an inactive or deleted app, and scales a failed app to zero', () => {
    const running = status([workload(r(1), 'ready')]);
    expect(planReplicas(app({ status: 'inactive' }), running, crashes).step).toEqual({ kind: 'remove' });
    expect(planReplicas(null, running, crashes).step).toEqual({ kind: 'remove' });
    expect(planReplicas(null, null, crashes).step).toEqual({ kind: 'none' });
    expect(planReplicas(app({ status: 'failed' }), running, crashes)).toEqual({ step: { kind: 'scale-to-zero' }, endpoints: [], failure: null });
    const stopped = status([workload(r(1), 'stopped')], { replicas: 0 });
    expect(planReplicas(app({ status: 'failed' }), stopped, crashes).step).toEqual({ kind: 'none' });
  });
});
