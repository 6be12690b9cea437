import { readdir } from 'node:fs/promises';
import { INTERRUPTED_PREPARATION_MESSAGE, type ProgramExit } from './failure-messages.js';
import type { KeyedMutex } from './keyed-mutex.js';
import { tailFile } from './log-tail.js';
import {
  isProcessGroupRunning,
  isProcessRunning,
  killProcessGroup,
  type ProcessIdentity,
  processStartTimeSync,
  signalProcessGroup,
} from './process-identity.js';
import type { RuntimeLogger } from './process-runtime.js';
import { isValidWorkloadId, readExitCode, readWorkloadState, type WorkloadPaths, type WorkloadState, writeWorkloadState } from './workload-files.js';
import { exitedState, isActivePhase, isRunningPhase } from './workload-status.js';

/*
 * Adoption after a restart: the files under the data directory are the process driver's only
 * record, so a new ProcessRuntime over the same directory (the service restarted, even after
 * SIGKILL) looks at each workload there, records the ones that died or whose preparation was cut
 * short while no one watched, watches the ones that still run, and finishes stops that were cut
 * short. It never starts anything.
 */

/** How many lines of a program's output go into a failure message. */
export const LINES_IN_MESSAGES = 20;

/** ProcessRuntime instances alive in this process, to tell an interrupted preparation from one under way. */
export const liveInstances = new Set<string>();
export const OWN_START_TIME = processStartTimeSync(process.pid);

export const identityOf = (state: WorkloadState): ProcessIdentity | null =>
  state.pid === null ? null : { pid: state.pid, startTime: state.pidStartTime };

/** What adoption may see and do of the runtime that adopts (ProcessRuntime). */
export interface AdoptionHost {
  readonly stopGraceMs: number;
  readonly logger: RuntimeLogger;
  /** The runtime's per-workload locks; adoptWorkload runs holding the workload's. */
  readonly locks: Pick<KeyedMutex, 'run'>;
  isClosed(): boolean;
  /** Whether the runtime already follows a run of this workload. */
  hasRun(id: string): boolean;
  paths(id: string): WorkloadPaths;
  /** Announces a phase change to the runtime's listeners. */
  emit(state: WorkloadState, previous: WorkloadState | null): void;
  /** Watches a program that still runs, from now on. */
  adopt(state: WorkloadState): void;
}

/** Adopts one workload; the caller holds its lock. */
export async function adoptWorkload(host: AdoptionHost, id: string): Promise<void> {
  if (host.isClosed() || host.hasRun(id)) return;
  const paths = host.paths(id);
  const state = await readWorkloadState(paths.state);
  if (!state) return;
  const current = await observeWorkload(state, paths);
  if (current !== state) {
    // It died, or its preparation was cut short, while no one was watching: record it.
    await writeWorkloadState(paths.state, current);
    host.emit(current, state);
    host.logger.warn({ workloadId: id, phase: current.phase, exitCode: current.exitCode }, 'workload ended while the runtime was down');
    const identity = identityOf(state);
    if (identity) await signalProcessGroup(identity, 'SIGKILL').catch(() => undefined);
  } else if (isRunningPhase(state.phase)) {
    host.adopt(state);
  } else if (!isActivePhase(state.phase)) {
    // Stopped or failed, yet still running: a stop that was cut short. Finish it, in the background.
    const identity = identityOf(state);
    if (identity && (await isProcessGroupRunning(identity))) {
      void host.locks
        .run(id, async () => {
          const again = await readWorkloadState(paths.state);
          if (again && again.runId === state.runId && !isActivePhase(again.phase)) await killProcessGroup(identity, host.stopGraceMs);
        })
        .catch((error: unknown) => host.logger.warn({ err: error, workloadId: id }, 'could not finish stopping a workload'));
    }
  }
}

/**
 * The state as it really is: a recorded program that no longer runs has failed (with its exit
 * code and last output), and a preparation whose runtime is gone was interrupted. Read-only.
 */
export async function observeWorkload(state: WorkloadState, paths: WorkloadPaths): Promise<WorkloadState> {
  if (isRunningPhase(state.phase)) {
    const identity = identityOf(state);
    if (identity && (await isProcessRunning(identity))) return state;
    const exit: ProgramExit = { code: await readExitCode(paths.exitCode), signal: null };
    return exitedState(state, exit, await tailFile(paths.log, LINES_IN_MESSAGES), new Date());
  }
  if (state.phase === 'preparing' && !(await preparerAlive(state))) {
    // Nothing runs and nothing failed: the next ensureRunning prepares it again (a reconciler
    // restarts a stopped workload it wants running, but rightly leaves a failed one alone).
    return { ...state, phase: 'stopped', reason: 'Interrupted', message: INTERRUPTED_PREPARATION_MESSAGE, preparer: null, updatedAt: new Date().toISOString() };
  }
  return state;
}

async function preparerAlive(state: WorkloadState): Promise<boolean> {
  const preparer = state.preparer;
  if (!preparer) return false;
  if (preparer.pid === process.pid && preparer.startTime === OWN_START_TIME) return liveInstances.has(preparer.instance);
  return isProcessRunning({ pid: preparer.pid, startTime: preparer.startTime });
}

/** The workloads under the data directory (one directory each). */
export async function listWorkloadIds(dataDir: string): Promise<string[]> {
  try {
    const entries = await readdir(dataDir, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory() && isValidWorkloadId(entry.name)).map((entry) => entry.name).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
