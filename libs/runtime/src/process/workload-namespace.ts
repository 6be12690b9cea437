import { execFile } from 'node:child_process';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveCommand } from './resolve-command.js';
import type { WorkloadUser } from './workload-users.js';

/** Postgres's socket directories on Debian and most distributions (trust auth on the socket is common). */
export const DEFAULT_HIDDEN_PATHS = ['/run/postgresql', '/var/run/postgresql'] as const;

const ROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ENV_PREFIX = 'LAUNCHPAD_ENV_';
const ENV_NAMES = 'LAUNCHPAD_ENV_NAMES';
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * First a /proc of its own, showing only its user's processes (hidepid=invisible, per mount since
 * Linux 5.8): another workload's command line names its port (jupyter --port=P), and a workload
 * that read it could bind that port first and make the other's program fail to start.
 */
const HIDE_PROCESSES = 'mount -t proc -o nosuid,nodev,noexec,hidepid=invisible launchpad-proc /proc || { echo "launchpad: could not hide other processes from the workload" >&2; exit 125; }; ';

/**
 * Run as root in the workload's new mount namespace: after HIDE_PROCESSES, covers each hidden
 * path that exists with an empty read-only tmpfs (a directory) or /dev/null (a file or socket),
 * then execs the rest. A path it cannot cover stops the start: the workload never runs with it
 * in view.
 */
const HIDE =
  HIDE_PROCESSES +
  'while [ "$1" != -- ]; do ' +
  'if [ -d "$1" ]; then mount -t tmpfs -o ro,nosuid,nodev,noexec,size=4k,mode=0555 launchpad-hidden "$1" || { echo "launchpad: could not hide $1 from the workload" >&2; exit 125; }; ' +
  'elif [ -e "$1" ]; then mount --bind /dev/null "$1" || { echo "launchpad: could not hide $1 from the workload" >&2; exit 125; }; fi; ' +
  'shift; done; shift; exec "$@"';

/**
 * Run as the workload's user: its environment back under its own names, then exec the rest.
 * Everything before it runs as root, and a root process must not see the workload's variables
 * under their names (LD_PRELOAD would load the user's library into it): they travel as
 * LAUNCHPAD_ENV_<name>, which nothing interprets. Names are shell names (checked), so the eval
 * only ever reads `export NAME="$LAUNCHPAD_ENV_NAME"`; values are never parsed.
 */
const LOAD_ENV =
  `set -- $${ENV_NAMES} -- "$@"; unset ${ENV_NAMES}; ` +
  `while [ "$1" != -- ]; do eval "export $1=\\"\\$${ENV_PREFIX}$1\\"; unset ${ENV_PREFIX}$1"; shift; done; shift; exec "$@"`;

export class NamespaceError extends Error {
  override name = 'NamespaceError';
}

/** The programs the namespace needs, from util-linux. */
export interface NamespaceTools {
  unshare: string;
  setpriv: string;
}

/** A command line to run: the executable and its arguments, and the environment execve gets. */
export interface Launch {
  executable: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * `unshare --mount` (a private copy of the mount table), a /proc that shows only the workload's
 * own processes, the hidden paths covered, then
 * `setpriv` down to the workload's uid and gid with no supplementary groups, then `command` with
 * `env`. The process keeps one pid throughout (each step execs the next), so the runtime's record
 * of it and its process group stay right. The user cannot undo the mounts: unmounting needs
 * CAP_SYS_ADMIN, which it no longer has.
 */
export function namespacedLaunch(tools: NamespaceTools, hiddenPaths: readonly string[], user: WorkloadUser, env: Record<string, string>, command: readonly string[]): Launch {
  const rootEnv: Record<string, string> = { PATH: ROOT_PATH };
  const names: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!SHELL_NAME.test(name)) throw new NamespaceError(`environment variable name "${name}" is not letters, digits and "_" (not starting with a digit)`);
    rootEnv[`${ENV_PREFIX}${name}`] = value;
    names.push(name);
  }
  rootEnv[ENV_NAMES] = names.join(' ');
  const args = [
    '--mount',
    '--propagation',
    'private',
    '--',
    '/bin/sh',
    '-c',
    HIDE,
    'launchpad-hide',
    ...hiddenPaths,
    '--',
    tools.setpriv,
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    '--clear-groups',
    '--',
    '/bin/sh',
    '-c',
    LOAD_ENV,
    'launchpad-env',
    ...command,
  ];
  return { executable: tools.unshare, args, env: rootEnv };
}

/** What the runtime gives spawn to run a workload's commands in a mount namespace of their own. */
export interface WorkloadNamespace {
  tools: NamespaceTools;
  hiddenPaths: readonly string[];
}

/**
 * Whether this machine lets us give a workload a mount namespace and cover a path in it: finds
 * unshare and setpriv and mounts a /proc of its own and a tmpfs in a throwaway namespace. Throws, saying what is
 * missing, when it cannot (no util-linux, or no CAP_SYS_ADMIN, as in an unprivileged container).
 */
export async function probeWorkloadNamespace(hiddenPaths: readonly string[], scratchDir: string): Promise<WorkloadNamespace> {
  const unshare = await resolveCommand('unshare', ROOT_PATH, '/');
  const setpriv = await resolveCommand('setpriv', ROOT_PATH, '/');
  const missing = [!unshare && 'unshare', !setpriv && 'setpriv'].filter(Boolean);
  if (!unshare || !setpriv) throw new NamespaceError(`${missing.join(' and ')} (util-linux) not installed`);
  const dir = await mkdtemp(join(scratchDir, '.namespace-probe-'));
  try {
    await new Promise<void>((resolve, reject) =>
      execFile(
        unshare,
        ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', `${HIDE_PROCESSES}mount -t tmpfs -o size=4k launchpad-probe "$1"`, 'launchpad-probe', dir],
        { env: { PATH: ROOT_PATH }, timeout: 10_000 },
        (error, _out, stderr) => (error ? reject(new NamespaceError(`unshare --mount could not mount in a namespace of its own: ${stderr.trim() || error.message}`)) : resolve()),
      ),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { tools: { unshare, setpriv }, hiddenPaths: await distinctPaths(hiddenPaths) };
}

/**
 * Each place once, by what it resolves to: /var/run is a link to /run on most systems, and a
 * second tmpfs over the same directory covers nothing more but costs every launch a `mount`.
 * A path that does not exist yet stays as given (the launch looks again).
 */
export async function distinctPaths(paths: readonly string[]): Promise<string[]> {
  return [...new Set(await Promise.all(paths.map((path) => realpath(path).catch(() => path))))];
}
