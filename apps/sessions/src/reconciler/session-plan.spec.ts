import type { WorkloadPhase, WorkloadStatus } from '@launchpad/runtime';
import { type PlannedSession, planSession } from './session-plan.js';

const policy = { idleTimeoutMs: 60 * 60_000, hibernatedTtlMs: 7 * 24 * 3600_000 };
const now = new Date('2026-11-25T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);

const row = (over: Partial<PlannedSession> = {}): PlannedSession => ({
  status: 'starting',
  desiredState: 'running',
  phase: 'queued',
  lastInteraction: now,
  hibernatedAt: null,
  endpoint: null,
  ...over,
});
const workload = (phase: WorkloadPhase, over: Partial<WorkloadStatus> = {}): WorkloadStatus => ({
  id: 's1',
  kind: 'session',
  owner: { service: 'sessions', id: 's1' },
  phase,
  reason: null,
  restarts: 0,
  specHash: null,
  endpoint: phase === 'starting' || phase === 'ready' ? 'http://127.0.0.1:4000' : null,
  message: null,
  exitCode: null,
  startedAt: null,
  readyAt: null,
  ...over,
});

describe('planSession', () => {
  it('starts what should run and is not in the runtime', () => {
    expect(planSession(row(), null, now, policy)).toEqual({ kind: 'start' });
    expect(planSession(row({ status: 'running', phase: 'ready' }), null, now, policy)).toEqual({ kind: 'start' });
    expect(planSession(row({ status: 'running', phase: 'ready' }), workload('stopped'), now, policy)).toEqual({ kind: 'start' });
  });

  it('starts a resumed or retried session even though its last run failed', () => {
    expect(planSession(row({ phase: 'resuming' }), workload('failed', { message: 'old failure' }), now, policy)).toEqual({ kind: 'start' });
  });

  it('reports a failure of the run it handed over, with the runtime’s reason', () => {
    const plan = planSession(row({ phase: 'starting' }), workload('failed', { message: 'exited with code 3 before it was ready' }), now, policy);
    expect(plan).toMatchObject({ kind: 'record', change: { status: 'failed', phase: 'failed', message: 'exited with code 3 before it was ready' } });
  });

  it('never restarts a failed session on its own', () => {
    expect(planSession(row({ status: 'failed', phase: 'failed' }), workload('failed'), now, policy)).toEqual({ kind: 'none' });
    expect(planSession(row({ status: 'failed', phase: 'failed' }), null, now, policy)).toEqual({ kind: 'none' });
  });

  it('stops a failed session that a restarting runtime (the kubelet) keeps trying', () => {
    const crashLooping = workload('failed', { reason: 'CrashLoopBackOff', restarts: 4 });
    expect(planSession(row({ status: 'failed', phase: 'failed' }), crashLooping, now, policy)).toEqual({ kind: 'stop' });
  });

  it('shows what a pending workload waits for, once', () => {
    const pending = workload('pending', { reason: 'Unschedulable', message: 'waiting for resources: 0/3 nodes have 2 free GPUs' });
    const plan = planSession(row({ phase: 'queued' }), pending, now, policy);
    expect(plan).toEqual({ kind: 'record', change: { phase: 'starting', message: 'starting: waiting for resources: 0/3 nodes have 2 free GPUs', endpoint: null } });
    expect(planSession(row({ phase: 'starting', message: 'starting: waiting for resources: 0/3 nodes have 2 free GPUs' }), pending, now, policy)).toEqual({ kind: 'none' });
  });

  it('follows the runtime through preparing and starting to running, once each', () => {
    expect(planSession(row({ phase: 'queued' }), workload('preparing'), now, policy)).toMatchObject({ kind: 'record', change: { phase: 'preparing' } });
    expect(planSession(row({ phase: 'preparing' }), workload('preparing'), now, policy)).toEqual({ kind: 'none' });
    expect(planSession(row({ phase: 'preparing' }), workload('starting'), now, policy)).toMatchObject({ kind: 'record', change: { phase: 'starting' } });
    expect(planSession(row({ phase: 'starting' }), workload('ready'), now, policy)).toMatchObject({
      kind: 'record',
      change: { status: 'running', phase: 'ready', endpoint: 'http://127.0.0.1:4000', startedAt: now, lastInteraction: now },
    });
    expect(planSession(row({ status: 'running', phase: 'ready', endpoint: 'http://127.0.0.1:4000' }), workload('ready'), now, policy)).toEqual({ kind: 'none' });
  });

  it('hibernates a running session idle for longer than the policy, saying why', () => {
    const idle = row({ status: 'running', phase: 'ready', endpoint: 'http://127.0.0.1:4000', lastInteraction: ago(61 * 60_000) });
    expect(planSession(idle, workload('ready'), now, policy)).toMatchObject({
      kind: 'record',
      change: { desiredState: 'hibernated', status: 'stopping', hibernationReason: 'idle for more than 60 minutes' },
    });
    expect(planSession({ ...idle, lastInteraction: ago(50 * 60_000) }, workload('ready'), now, policy)).toEqual({ kind: 'none' });
  });

  it('announces the hibernation once, warningMs before, and again after a snooze', () => {
    const soon = row({ status: 'running', phase: 'ready', endpoint: 'http://127.0.0.1:4000', lastInteraction: ago(57 * 60_000) });
    const warn = planSession(soon, workload('ready'), now, policy);
    expect(warn).toMatchObject({ kind: 'record', change: { phase: 'ready', hibernationWarnedFor: soon.lastInteraction } });
    expect(warn.kind === 'record' && warn.change.message).toBe(
      `will hibernate at ${new Date(soon.lastInteraction.getTime() + 60 * 60_000).toISOString()}: unused since ${soon.lastInteraction.toISOString()}; use it, or PATCH {"lastInteraction":"now"}, to keep it running`,
    );
    expect(planSession({ ...soon, hibernationWarnedFor: soon.lastInteraction }, workload('ready'), now, policy)).toEqual({ kind: 'none' });
    // Snoozed (lastInteraction moved) and idle again: a new warning.
    expect(planSession({ ...soon, hibernationWarnedFor: ago(120 * 60_000) }, workload('ready'), now, policy)).toMatchObject({ kind: 'record' });
  });

  it('follows the session’s own thresholds: shorter, longer, or never (0)', () => {
    const idle = row({ status: 'running', phase: 'ready', endpoint: 'http://127.0.0.1:4000', lastInteraction: ago(61 * 60_000) });
    expect(planSession({ ...idle, idleTimeoutMs: 0 }, workload('ready'), now, policy)).toEqual({ kind: 'none' });
    expect(planSession({ ...idle, idleTimeoutMs: 120 * 60_000, hibernationWarnedFor: idle.lastInteraction }, workload('ready'), now, policy)).toEqual({ kind: 'none' });
    expect(planSession({ ...idle, lastInteraction: ago(11 * 60_000), idleTimeoutMs: 10 * 60_000 }, workload('ready'), now, policy)).toMatchObject({
      change: { hibernationReason: 'idle for more than 10 minutes' },
    });
    const old = row({ status: 'hibernated', desiredState: 'hibernated', phase: 'hibernated', hibernatedAt: ago(800 * 24 * 3600_000), hibernatedTtlMs: 0 });
    expect(planSession(old, workload('stopped'), now, policy)).toEqual({ kind: 'none' });
  });

  it('stops what should be hibernated, then records it hibernated, then deletes it after the time to live', () => {
    const hibernating = row({ status: 'stopping', desiredState: 'hibernated', phase: 'hibernating' });
    expect(planSession(hibernating, workload('ready'), now, policy)).toEqual({ kind: 'stop' });
    expect(planSession(hibernating, workload('stopped'), now, policy)).toMatchObject({ kind: 'record', change: { status: 'hibernated', hibernatedAt: now } });
    const old = row({ status: 'hibernated', desiredState: 'hibernated', phase: 'hibernated', hibernatedAt: ago(8 * 24 * 3600_000) });
    expect(planSession(old, workload('stopped'), now, policy)).toMatchObject({ kind: 'record', change: { desiredState: 'deleted', message: 'deleting: hibernated for more than 7 days' } });
  });

  it('removes what should be deleted, then forgets it', () => {
    const deleting = row({ status: 'stopping', desiredState: 'deleted', phase: 'stopping' });
    expect(planSession(deleting, workload('ready'), now, policy)).toEqual({ kind: 'remove' });
    expect(planSession(deleting, null, now, policy)).toEqual({ kind: 'forget' });
  });
});
