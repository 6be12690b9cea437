import type { WorkloadPhase, WorkloadStatus } from '../runtime.js';
import { exitCodeOf, exitMessage, type ProgramExit } from './failure-messages.js';
import type { WorkloadState } from './workload-files.js';

/** Phases in which something is (or should soon be) under way. */
export const isActivePhase = (phase: WorkloadPhase) => phase === 'preparing' || phase === 'starting' || phase === 'ready';

/** Phases in which a program has been started and should be running. */
export const isRunningPhase = (phase: WorkloadPhase) => phase === 'starting' || phase === 'ready';

export function endpointOf(state: WorkloadState): string | null {
  return isRunningPhase(state.phase) && state.port !== null ? `http://127.0.0.1:${state.port}` : null;
}

export function statusOf(state: WorkloadState): WorkloadStatus {
  return {
    id: state.id,
    kind: state.kind,
    owner: { ...state.owner },
    phase: state.phase,
    endpoint: endpointOf(state),
    message: state.message,
    exitCode: state.exitCode,
    startedAt: state.startedAt,
    readyAt: state.readyAt,
  };
}

export function failedState(state: WorkloadState, message: string, now: Date, exitCode: number | null = null): WorkloadState {
  return { ...state, phase: 'failed', message, exitCode, preparer: null, updatedAt: now.toISOString() };
}

/** The state of a workload whose program has exited on its own while starting or ready. */
export function exitedState(state: WorkloadState, exit: ProgramExit, lastLines: readonly string[], now: Date): WorkloadState {
  return failedState(state, exitMessage(exit, state.phase === 'starting', lastLines), now, exitCodeOf(exit));
}
