import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkloadKind, WorkloadPhase, WorkloadReason, WorkloadSpec } from '../runtime.js';

/**
 * Everything the process driver knows about a workload, in `<dataDir>/<id>/state.json`. It is
 * the only record: a runtime that restarts (or a second one over the same directory) rebuilds
 * its view from these files and the processes they name.
 */
export interface WorkloadState {
  version: 1;
  id: string;
  kind: WorkloadKind;
  owner: WorkloadSpec['owner'];
  /** New on every (re)start, so that a watcher of an older run never overwrites a newer one. */
  runId: string;
  phase: WorkloadPhase;
  /** Absent in states written before reasons existed. */
  reason?: WorkloadReason | null;
  message: string | null;
  exitCode: number | null;
  /** The wrapper shell that leads the program's process group (its pid is the group's id). */
  pid: number | null;
  /** Field 22 of /proc/<pid>/stat, so that a reused pid is not taken for ours. */
  pidStartTime: string | null;
  /** While preparing: the runtime doing it, so that an interrupted preparation can be told from one under way. */
  preparer: { pid: number; startTime: string | null; instance: string } | null;
  port: number | null;
  /** The uid the program runs as (isolated runtimes), so that its port can be given back when it ends. */
  uid?: number | null;
  /** Polled for readiness: baseUrl joined with defaultUrl. */
  readinessPath: string;
  readinessTimeoutMs: number;
  /** workloadSpecHash of the spec this run was started with; absent in states written before hashes existed. */
  specHash?: string | null;
  startedAt: string | null;
  readyAt: string | null;
  updatedAt: string;
}

export interface WorkloadPaths {
  root: string;
  state: string;
  work: string;
  home: string;
  log: string;
  exitCode: string;
  /** `<pid> <start time>` of the git clone under way, so a later runtime can end one left behind. */
  clonePid: string;
}

export function workloadPaths(dataDir: string, id: string): WorkloadPaths {
  const root = join(dataDir, id);
  return {
    root,
    state: join(root, 'state.json'),
    work: join(root, 'work'),
    home: join(root, 'home'),
    log: join(root, 'output.log'),
    exitCode: join(root, 'exit-code'),
    clonePid: join(root, 'clone.pid'),
  };
}

/** An id names a directory, so it must be one plain path segment. */
export function isValidWorkloadId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(id);
}

const PHASES: readonly WorkloadPhase[] = ['pending', 'preparing', 'starting', 'ready', 'failed', 'stopped'];

/** The state of a workload, or null when it has none (unknown, or being removed). */
export async function readWorkloadState(path: string): Promise<WorkloadState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const state = JSON.parse(text) as WorkloadState;
  if (state?.version !== 1 || typeof state.id !== 'string' || !PHASES.includes(state.phase)) {
    throw new Error(`${path} is not a workload state this runtime understands`);
  }
  return state;
}

/**
 * Replaces the state file atomically (write a temporary file beside it, then rename), so a
 * reader, or a runtime that restarts after being killed mid-write, sees the old state or the
 * new one, never half of one. Fails, rather than recreating it, if the workload's directory is gone.
 */
export async function writeWorkloadState(path: string, state: WorkloadState): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The exit status the wrapper shell wrote when the program ended, or null if it did not. */
export async function readExitCode(path: string): Promise<number | null> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return /^\d+$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}
