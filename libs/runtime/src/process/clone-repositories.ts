import { spawn } from 'node:child_process';
import { lstat, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RepositorySpec } from '../runtime.js';
import { redactUrl } from './failure-messages.js';

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
export async function cloneRepositories(workDir: string, repositories: readonly RepositorySpec[], signal: AbortSignal): Promise<void> {
  for (const repository of repositories) {
    const problem = repositoryNameProblem(repository.name);
    if (problem) throw new CloneError(`invalid repository name "${repository.name}": ${problem}`);
  }
  for (const repository of repositories) {
    signal.throwIfAborted();
    const target = join(workDir, repository.name);
    if (await exists(target)) continue;
    const temporary = join(workDir, `.${repository.name}.cloning`);
    await rm(temporary, { recursive: true, force: true });
    try {
      await runGit(['clone', '--quiet', '--', repository.url, temporary], workDir, signal, repository);
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { recursive: true, force: true });
      throw error;
    }
  }
}

function runGit(args: string[], cwd: string, signal: AbortSignal, repository: RepositorySpec): Promise<void> {
  const where = `could not clone repository "${repository.name}" from ${redactUrl(repository.url)}`;
  return new Promise((resolve, reject) => {
    // Its own process group, so that aborting also ends the helpers git starts (remote-https, ssh).
    const git = spawn('git', args, {
      cwd,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    });
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
      reject(new CloneError(error.code === 'ENOENT' ? `${where}: git is not installed on this machine` : `${where}: ${error.message}`));
    });
    git.once('close', (code, killedBy) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) reject(signal.reason);
      else if (code === 0) resolve();
      else reject(new CloneError(`${where}: ${stderr.trim() || `git exited with ${code ?? killedBy}`}`));
    });
  });
}
