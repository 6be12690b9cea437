import type { ResourceSpec } from '../runtime.js';

export interface ResourceLimitSettings {
  /** RLIMIT_NPROC: processes (threads count too) of the workload's uid. Default 512. */
  maxProcesses?: number;
  /** RLIMIT_NOFILE: open files of each process. Default 4096. */
  maxOpenFiles?: number;
}

export const DEFAULT_MAX_PROCESSES = 512;
export const DEFAULT_MAX_OPEN_FILES = 4096;

/**
 * The `prlimit` options that hold a workload to its resource class, set on the program's own
 * process before it runs (and inherited by everything it starts):
 * - memory as RLIMIT_DATA (private writable memory, what allocations use), not RLIMIT_AS:
 *   runtimes such as V8 reserve far more address space than they ever use, and fail to start
 *   under an address-space limit the size of a small class;
 * - processes as RLIMIT_NPROC, which the kernel counts per uid, so only when the workload has a
 *   uid of its own (for a single-user installation it would count all of the user's processes);
 * - open files as RLIMIT_NOFILE.
 */
export function prlimitOptions(resources: ResourceSpec, settings: ResourceLimitSettings, ownUid: boolean): string[] {
  const options: string[] = [];
  if (resources.memoryMb > 0) options.push(`--data=${Math.round(resources.memoryMb * 1024 * 1024)}`);
  if (ownUid) options.push(`--nproc=${settings.maxProcesses ?? DEFAULT_MAX_PROCESSES}`);
  options.push(`--nofile=${settings.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES}`);
  return options;
}

/** What this machine lets the process runtime hold a workload to, and what not, in words for the start-up log. */
export function limitsReport(prlimit: boolean, ownUid: boolean): { enforced: string[]; notEnforced: string[] } {
  const enforced: string[] = [];
  // No cgroup controller is used: CPU shares, GPUs and disk quotas are the Kubernetes runtime's.
  const notEnforced = ['cpu (no cgroup v2 delegation; use the kubernetes runtime)', 'gpu', 'disk'];
  if (prlimit) {
    enforced.push('memory (RLIMIT_DATA, from the resource class)', 'open files (RLIMIT_NOFILE)');
    if (ownUid) enforced.push('processes (RLIMIT_NPROC, per workload uid)');
    else notEnforced.push('processes (RLIMIT_NPROC counts per uid, and workloads share this one)');
  } else {
    notEnforced.unshift('memory, processes and open files (prlimit, from util-linux, is not installed)');
  }
  return { enforced, notEnforced };
}
