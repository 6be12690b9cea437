import type { WorkloadPhase, WorkloadReason, WorkloadStatus } from '../runtime.js';
import { exitCodeOf, exitMessage, type ProgramExit } from './failure-messages.js';
import type { WorkloadState } from './workload-files.js';

/** Phases in which something is (or should soon be) under way. */
export const isActivePhase = (phase: WorkloadPhase) => phase === 'pending' || phase === 'preparing' || phase === 'starting' || phase === 'ready';

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
    reason: state.reason ?? null,
    endpoint: endpointOf(state),
    message: state.message,
    exitCode: state.exitCode,
    // This driver restarts nothing itself: an exit is final until the next ensureRunning.
    restarts: 0,
    specHash: state.specHash ?? null,
    startedAt: state.startedAt,
    readyAt: state.readyAt,
  };
}

export function failedState(state: WorkloadState, reason: WorkloadReason, message: string, now: Date, exitCode: number | null = null): WorkloadState {
  return { ...state, phase: 'failed', reason, message, exitCode, preparer: null, updatedAt: now.toISOString() };
}

/** The state of a workload whose program has exited on its own while starting or ready. */
export function exitedState(state: WorkloadState, exit: ProgramExit, lastLines: readonly string[], now: Date): WorkloadState {
  return failedState(state, 'Exited', exitMessage(exit, state.phase === 'starting', lastLines), now, exitCodeOf(exit));
}
