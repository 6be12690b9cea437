import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/**
 * A process as recorded in a state file: its pid and, on Linux, its start time (field 22 of
 * /proc/<pid>/stat, in clock ticks since boot), so that a pid the kernel has since given to
 * another process is not taken for ours. Where there is no /proc, `startTime` is null and the
 * pid alone is trusted.
 */
export interface ProcessIdentity {
  pid: number;
  startTime: string | null;
}

export interface ProcStat {
  /** R, S, D, Z (zombie), X (dead), ... */
  state: string;
  ppid: number;
  pgrp: number;
  startTime: string;
}

const HAS_PROC = existsSync('/proc/self/stat');

/**
 * Parses /proc/<pid>/stat. The second field, the command name in parentheses, may itself hold
 * spaces and parentheses, so fields are counted from the last `)`.
 */
export function parseProcStat(content: string): ProcStat | null {
  const close = content.lastIndexOf(')');
  if (close === -1) return null;
  const fields = content.slice(close + 1).trim().split(/\s+/);
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const [state, ppid, pgrp, startTime] = [fields[0], fields[1], fields[2], fields[19]];
  if (state === undefined || ppid === undefined || pgrp === undefined || startTime === undefined) return null;
  if (!/^\d+$/.test(startTime)) return null;
  return { state, ppid: Number(ppid), pgrp: Number(pgrp), startTime };
}

async function readProcStat(pid: number): Promise<ProcStat | null> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** The start time of a process, read synchronously so it can be taken right after spawn. */
export function processStartTimeSync(pid: number): string | null {
  if (!HAS_PROC) return null;
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.startTime ?? null;
  } catch {
    return null;
  }
}

const isGone = (state: string) => state === 'Z' || state === 'X' || state === 'x';

function signalExists(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether this very process (same pid, same start time) still runs; a zombie does not count. */
export async function isProcessRunning(identity: ProcessIdentity): Promise<boolean> {
  if (!HAS_PROC) return signalExists(identity.pid);
  const stat = await readProcStat(identity.pid);
  if (!stat || isGone(stat.state)) return false;
  return identity.startTime === null || stat.startTime === identity.startTime;
}

/**
 * Whether any live process remains in the process group that `identity` leads: the leader
 * itself, or what it left behind after it exited (a program's children stay in its group).
 * A pid cannot be given to a new process while a group still uses it as its id, so a pid in use
 * by a process with another start time means the group is gone.
 */
export async function isProcessGroupRunning(identity: ProcessIdentity): Promise<boolean> {
  if (!HAS_PROC) return signalExists(-identity.pid);
  const leader = await readProcStat(identity.pid);
  if (leader && identity.startTime !== null && leader.startTime !== identity.startTime) return false;
  if (leader && !isGone(leader.state)) return true;
  if (!signalExists(-identity.pid)) return false;
  // Members remain; make sure at least one is not a zombie waiting for its parent.
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readProcStat(Number(entry));
    if (stat && stat.pgrp === identity.pid && !isGone(stat.state)) return true;
  }
  return false;
}

/** Sends a signal to the whole group `identity` leads, if that group is still the one we started. */
export async function signalProcessGroup(identity: ProcessIdentity, signal: NodeJS.Signals): Promise<void> {
  if (!(await isProcessGroupRunning(identity))) return;
  try {
    process.kill(-identity.pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntilGone(identity: ProcessIdentity, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isProcessGroupRunning(identity))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

/**
 * Stops a whole process group: SIGTERM, then SIGKILL to whatever is left after `graceMs`.
 * Resolves once nothing of the group runs any more (or, should SIGKILL not be enough within a
 * few seconds, a process stuck in the kernel, after that).
 */
export async function killProcessGroup(identity: ProcessIdentity, graceMs: number): Promise<void> {
  if (!(await isProcessGroupRunning(identity))) return;
  await signalProcessGroup(identity, 'SIGTERM');
  if (await waitUntilGone(identity, graceMs)) return;
  await signalProcessGroup(identity, 'SIGKILL');
  await waitUntilGone(identity, 5_000);
}

/** A /proc/<pid>/status's real uid; null for a zombie (it runs nothing: PID 1 may just not have reaped it) or no process. */
export function liveUidOf(status: string): number | null {
  const uid = /^Uid:\s+(\d+)/m.exec(status);
  if (!uid || /^State:\s+Z/m.test(status)) return null;
  return Number(uid[1]);
}

/** The real uids of every live process on this machine (zombies, already gone, are not), from /proc/<pid>/status. */
export async function processUids(): Promise<Set<number>> {
  const uids = new Set<number>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const uid = liveUidOf(await readFile(`/proc/${entry}/status`, 'utf8').catch(() => ''));
    if (uid !== null) uids.add(uid);
  }
  return uids;
}
