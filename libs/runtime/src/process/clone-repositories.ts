import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { lstat, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { RepositorySpec } from '../runtime.js';
import { redactUrl } from './failure-messages.js';
import { isProcessGroupRunning, killProcessGroup, parseProcStat, type ProcessIdentity, processStartTimeSync } from './process-identity.js';
import { resolveCommand } from './resolve-command.js';
import { namespacedLaunch, type WorkloadNamespace } from './workload-namespace.js';
import type { WorkloadUser } from './workload-users.js';

export interface CloneOptions {
  /** git runs as the workload's user, never with the service's rights; null or absent: as us. */
  user?: WorkloadUser | null;
  /** With a user: git runs in a mount namespace of its own, as the workload's programs do (its ssh and credential helpers are the user's to configure). */
  namespace?: WorkloadNamespace | null;
  /** git's whole environment (none of the service's); absent: PATH, HOME and LANG of ours. */
  env?: Record<string, string>;
  /** Why a URL may not be cloned here, or null (the runtime's repository policy). */
  urlProblem?: (url: string) => string | null;
}

/** Why a repository name cannot be a directory of the work directory, or null if it can. */
export function repositoryNameProblem(name: string): string | null {
  if (name === '' || name === '.' || name === '..') return 'it must name a directory';
  if (/[/\\\0]/.test(name)) return 'it must be a single directory name, without slashes';
  if (name.endsWith('.cloning')) return 'names ending in .cloning are used for clones under way';
  return null;
}

export class CloneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CloneError';
  }
}

const STDERR_LIMIT = 4000;

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Clones each repository to `<workDir>/<name>` with the real `git`. A repository already there is
 * kept as it is, never cloned again (the work directory is the user's, and survives stops). Each
 * clone goes to a temporary sibling first and is renamed into place once complete, so a clone cut
 * short (our process killed) is never taken for a finished one; the next attempt discards it.
 * Throws a CloneError naming the repository, with git's own words, when a clone fails.
 */
/**
 * Clones what is missing. `pidFile` records the running git's process group while it runs: git is
 * detached, so it outlives a runtime killed mid-clone, and the next runtime ends it before cloning
 * again (killLeftoverClone).
 */
export async function cloneRepositories(workDir: string, repositories: readonly RepositorySpec[], signal: AbortSignal, pidFile?: string, options: CloneOptions = {}): Promise<void> {
  for (const repository of repositories) {
    const problem = repositoryNameProblem(repository.name);
    if (problem) throw new CloneError(`invalid repository name "${repository.name}": ${problem}`);
    // Checked again here, whoever validated it before: this is where it would be fetched.
    const urlProblem = options.urlProblem?.(repository.url);
    if (urlProblem) throw new CloneError(`will not clone repository "${repository.name}" from ${redactUrl(repository.url)}: ${urlProblem}`);
  }
  for (const repository of repositories) {
    signal.throwIfAborted();
    const target = join(workDir, repository.name);
    if (await exists(target)) continue;
    const temporary = join(workDir, `.${repository.name}.cloning`);
    await rm(temporary, { recursive: true, force: true });
    try {
      await runGit(['clone', '--quiet', '--', repository.url, temporary], workDir, signal, repository, pidFile, options, await gitPath(options));
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { recursive: true, force: true });
      throw error;
    }
  }
}

/** git's absolute path when it runs in a namespace (the shell there would only say "not found"), else its name. */
async function gitPath(options: CloneOptions): Promise<string> {
  if (!(options.user && options.namespace)) return 'git';
  return (await resolveCommand('git', options.env?.PATH ?? process.env.PATH ?? '/usr/bin:/bin', '/')) ?? 'git';
}

function runGit(args: string[], cwd: string, signal: AbortSignal, repository: RepositorySpec, pidFile: string | undefined, options: CloneOptions, gitCommand: string): Promise<void> {
  const where = `could not clone repository "${repository.name}" from ${redactUrl(repository.url)}`;
  return new Promise((resolve, reject) => {
    const env = options.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', LANG: process.env.LANG ?? 'C.UTF-8', GIT_TERMINAL_PROMPT: '0' };
    const namespaced = options.user && options.namespace && gitCommand !== 'git' ? namespacedLaunch(options.namespace.tools, options.namespace.hiddenPaths, options.user, env, [gitCommand, ...args]) : null;
    // Its own process group, so that aborting also ends the helpers git starts (remote-https, ssh).
    const git = spawn(namespaced?.executable ?? gitCommand, namespaced?.args ?? args, {
      cwd,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: namespaced?.env ?? env,
      ...(options.user && !namespaced ? { uid: options.user.uid, gid: options.user.gid } : {}),
    });
    if (pidFile && git.pid !== undefined) writeFileSync(pidFile, `${git.pid} ${processStartTimeSync(git.pid) ?? ''}`);
    const forgetPid = () => {
      if (pidFile) rmSync(pidFile, { force: true });
    };
    let stderr = '';
    git.stderr?.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-STDERR_LIMIT);
    });
    const onAbort = () => {
      try {
        if (git.pid !== undefined) process.kill(-git.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    git.once('error', (error: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      forgetPid();
      reject(new CloneError(error.code === 'ENOENT' ? `${where}: git is not installed on this machine` : `${where}: ${error.message}`));
    });
    git.once('close', (code, killedBy) => {
      signal.removeEventListener('abort', onAbort);
      forgetPid();
      if (signal.aborted) reject(signal.reason);
      else if (code === 0) resolve();
      else reject(new CloneError(`${where}: ${stderr.trim() || `git exited with ${code ?? killedBy}`}`));
    });
  });
}

/**
 * Ends the clones a previous runtime left running into `workDir` (it was killed mid-clone), and
 * waits until they are gone; says how many it ended, and how many it found that no pid file
 * named. The pid file names the one a runtime recorded;
 * the others are found by their command line (`git clone … <workDir>/.<name>.cloning`): a runtime
 * killed after git was forked but before the pid was written leaves a clone that no file names,
 * and that would otherwise write into the next attempt's temporary directory. That scan runs
 * only where such a clone can be (mayHoldClones: a `.cloning` directory, or `repositories` to clone).
 */
export async function killLeftoverClone(pidFile: string, workDir?: string, repositories: readonly unknown[] = []): Promise<{ ended: number; unrecorded: number }> {
  const groups = new Map<number, ProcessIdentity>();
  let recorded: string | undefined;
  try {
    recorded = readFileSync(pidFile, 'utf8');
  } catch {
    // none recorded
  }
  const [pid, startTime] = (recorded ?? '').trim().split(' ');
  if (pid && /^\d+$/.test(pid)) groups.set(Number(pid), { pid: Number(pid), startTime: startTime || null });
  const recordedGroups = groups.size;
  if (workDir && mayHoldClones(workDir, repositories)) for (const group of await cloneGroupsInto(workDir)) if (!groups.has(group.pid)) groups.set(group.pid, group);
  let ended = 0;
  await Promise.all(
    [...groups.values()].map(async (group) => {
      if (!(await isProcessGroupRunning(group))) return;
      ended++;
      await killProcessGroup(group, 0);
    }),
  );
  rmSync(pidFile, { force: true });
  return { ended, unrecorded: groups.size - recordedGroups };
}

const CLONING = /^\..+\.cloning$/;

/**
 * Whether a clone of an earlier preparation can still be at work in `workDir`: one is cloning
 * into a `.<name>.cloning` directory there, or (its git not yet that far) the spec names
 * repositories to clone. Otherwise the scan of every process's command line is skipped: it costs
 * each launch tens of milliseconds on a machine running hundreds of programs.
 */
export function mayHoldClones(workDir: string, repositories: readonly unknown[] = []): boolean {
  if (repositories.length > 0) return true;
  try {
    return readdirSync(workDir).some((entry) => CLONING.test(entry));
  } catch {
    return false;
  }
}

/** The process groups (detached: each clone leads its own) of live processes cloning into `workDir`; none without /proc. */
async function cloneGroupsInto(workDir: string): Promise<ProcessIdentity[]> {
  if (!existsSync('/proc/self/cmdline')) return [];
  const dir = resolve(workDir);
  const ownGroup = parseProcStat(await readFile('/proc/self/stat', 'utf8').catch(() => ''))?.pgrp;
  const groups = new Map<number, ProcessIdentity>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!args.includes('clone') || !args.some((a) => CLONING.test(basename(a)) && dirname(a) === dir)) continue;
    const stat = parseProcStat(await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => ''));
    if (!stat || stat.state === 'Z' || stat.pgrp === ownGroup || groups.has(stat.pgrp)) continue;
    const leader = parseProcStat(await readFile(`/proc/${stat.pgrp}/stat`, 'utf8').catch(() => ''));
    groups.set(stat.pgrp, { pid: stat.pgrp, startTime: leader?.startTime ?? null });
  }
  return [...groups.values()];
}
