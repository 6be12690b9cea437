import type { WorkloadState } from './workload-files.js';
import { exitedState, statusOf } from './workload-status.js';

const state = (overrides: Partial<WorkloadState>): WorkloadState => ({
  version: 1,
  id: 's1',
  kind: 'session',
  owner: { service: 'sessions', id: 's1' },
  runId: 'r1',
  phase: 'starting',
  message: null,
  exitCode: null,
  pid: 100,
  pidStartTime: '5000',
  preparer: null,
  port: 41234,
  readinessPath: '/sessions/s1/',
  readinessTimeoutMs: 120_000,
  startedAt: '2025-01-01T00:00:00.000Z',
  readyAt: null,
  updatedAt: '2025-01-01T00:00:00.000Z',
  ...overrides,
});

describe('workload status', () => {
  it('has an endpoint while starting or ready, and none otherwise', () => {
    expect(statusOf(state({ phase: 'starting' })).endpoint).toBe('http://127.0.0.1:41234');
    expect(statusOf(state({ phase: 'ready' })).endpoint).toBe('http://127.0.0.1:41234');
    for (const phase of ['preparing', 'failed', 'stopped'] as const) expect(statusOf(state({ phase })).endpoint).toBeNull();
  });

  it('a program that exits while starting failed before it was ready, with its exit code', () => {
    const failed = exitedState(state({ phase: 'starting' }), { code: 3, signal: null }, ['oops'], new Date('2025-01-01T00:01:00Z'));
    expect(statusOf(failed)).toMatchObject({ phase: 'failed', exitCode: 3, endpoint: null, message: 'exited with code 3 before it was ready; last output:\noops' });
    expect(failed.updatedAt).toBe('2025-01-01T00:01:00.000Z');
  });

  it('a program that exits once ready failed, with its exit code', () => {
    const failed = exitedState(state({ phase: 'ready' }), { code: 0, signal: null }, [], new Date());
    expect(statusOf(failed)).toMatchObject({ phase: 'failed', exitCode: 0, message: 'exited with code 0' });
  });
});
