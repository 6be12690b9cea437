import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { open, rm } from 'node:fs/promises';
import type { ProgramExit } from './failure-messages.js';
import { processStartTimeSync } from './process-identity.js';
import { namespacedLaunch, type WorkloadNamespace } from './workload-namespace.js';
import type { WorkloadUser } from './workload-users.js';

export interface ProgramLaunch {
  /** An absolute path, already resolved on PATH. */
  executable: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** stdout and stderr are appended here, by the kernel, whether we are still alive or not. */
  logPath: string;
  /** Where the wrapper writes the program's exit status when it ends. */
  exitCodePath: string;
  /** The workload's own uid and gid (supplementary groups are dropped); null or absent: ours. */
  user?: WorkloadUser | null;
  /** Run in front of the wrapper, e.g. `prlimit --data=... --`, so its limits bind the wrapper and the program. */
  prefix?: readonly string[];
  /** With a user: run in a mount namespace of its own, these paths covered, before dropping to the user. */
  namespace?: WorkloadNamespace | null;
}

export interface SpawnedProgram {
  child: ChildProcess;
  /** The wrapper shell's pid, which is also the id of the program's process group. */
  pid: number;
  startTime: string | null;
  /** Resolves when the wrapper ends (while we are the parent that sees it). */
  exited: Promise<ProgramExit>;
}

/**
 * `sh -c WRAPPER launchpad <exit-code-file> <program> <args...>`: runs the program as a child of
 * a shell that records its exit status in a file, so that the status survives our own death (the
 * shell, not we, is the program's parent). Not `exec`, so the shell stays to write the file; a
 * signal to the process group reaches the program as well as the shell. A program killed by
 * signal n is recorded as 128 + n.
 */
const WRAPPER = 'exit_file=$1; shift; "$@"; echo $? > "$exit_file"';

/**
 * Starts the program in a process group of its own (`detached`), so that stopping it can signal
 * it and everything it started, and so that it outlives us. It is unreferenced: it does not keep
 * our process alive.
 */
export async function spawnProgram(launch: ProgramLaunch): Promise<SpawnedProgram> {
  if (!launch.user) await rm(launch.exitCodePath, { force: true });
  // Opened by us and handed over as a descriptor: a workload with a uid of its own writes its
  // output without being able to open (or read back) the file, which stays ours.
  const log = await open(launch.logPath, 'a', 0o600);
  try {
    const command = [...(launch.prefix ?? []), '/bin/sh', '-c', WRAPPER, 'launchpad', launch.exitCodePath, launch.executable, ...launch.args];
    // In a namespace we start as root and drop to the user ourselves; otherwise spawn sets the uid.
    const namespaced = launch.user && launch.namespace ? namespacedLaunch(launch.namespace.tools, launch.namespace.hiddenPaths, launch.user, launch.env, command) : null;
    const [executable, ...args] = namespaced ? [namespaced.executable, ...namespaced.args] : command;
    const child = spawn(executable!, args, {
      cwd: launch.cwd,
      env: namespaced?.env ?? launch.env,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      ...(launch.user && !namespaced ? { uid: launch.user.uid, gid: launch.user.gid } : {}),
    });
    const pid = child.pid;
    if (pid === undefined) {
      const [error] = (await once(child, 'error')) as [Error];
      throw error;
    }
    // Read at once, before the event loop can reap a program that ends immediately.
    const startTime = processStartTimeSync(pid);
    const exited = new Promise<ProgramExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.unref();
    return { child, pid, startTime, exited };
  } finally {
    await log.close();
  }
}
