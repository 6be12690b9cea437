import { spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { allowedGitProtocols, type Repository, repositoryUrlProblem } from '@launchpad/contracts';
import { APPS_CONFIG, type AppsConfig } from '../config.js';

/** A repository could not be read; the message names it (its URL without credentials) and says why. */
export class RepositoryReadError extends Error {}

const redact = (url: string) => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');

/**
 * Run as root, the service reads Procfiles as `nobody`, never with its own rights: what a
 * repository's clone does (hooks of a local repository, git's transports) must not run as the
 * service. (Workloads get uids of their own from the runtime; this short read needs none of theirs.)
 */
const NOBODY = 65534;

/**
 * Reads a repository's Procfile with the real `git`: a shallow clone without checkout into a
 * temporary directory, then `git show HEAD:Procfile`. The side effect the command resolution
 * stands on; a test can swap it.
 */
@Injectable()
export class ProcfileReader {
  constructor(@Inject(APPS_CONFIG) private readonly config: AppsConfig) {}

  /** The Procfile's text, or null when the repository has none at its default branch's head. */
  async read(repository: Repository): Promise<string | null> {
    const where = `repository "${repository.name}" (${redact(repository.url)})`;
    const policy = this.config.runtime.repositoryPolicy;
    const problem = repositoryUrlProblem(repository.url, policy);
    if (problem) throw new RepositoryReadError(`will not clone ${where}: ${problem}`);
    const dir = await mkdtemp(join(tmpdir(), 'lp-procfile-'));
    const asRoot = process.getuid?.() === 0;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LANG: process.env.LANG ?? 'C.UTF-8',
      HOME: dir,
      GIT_TERMINAL_PROMPT: '0',
      GIT_ALLOW_PROTOCOL: allowedGitProtocols(policy),
      ...(process.env.GIT_SSH_COMMAND ? { GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND } : {}),
      ...(process.env.GIT_SSH_VARIANT ? { GIT_SSH_VARIANT: process.env.GIT_SSH_VARIANT } : {}),
    };
    const user = asRoot ? { uid: NOBODY, gid: NOBODY } : null;
    try {
      if (user) {
        await chown(dir, user.uid, user.gid);
        if (policy.allowFile) {
          // Local repositories (development) belong to another user; git clones them only if a configuration it trusts says so.
          const config = join(tmpdir(), `lp-procfile-gitconfig-${process.pid}`);
          await writeFile(config, '[safe]\n\tdirectory = *\n');
          await chmod(config, 0o644);
          env.GIT_CONFIG_GLOBAL = config;
        }
      }
      const clone = await git(['clone', '--quiet', '--depth', '1', '--no-checkout', '--', repository.url, join(dir, 'repo')], dir, this.config.replicas.procfileTimeoutMs, env, user);
      if (clone.code !== 0) throw new RepositoryReadError(`could not clone ${where}: ${clone.stderr.trim() || `git exited with ${clone.code}`}`);
      const show = await git(['show', 'HEAD:Procfile'], join(dir, 'repo'), this.config.replicas.procfileTimeoutMs, env, user);
      if (show.code === 0) return show.stdout;
      if (/does not exist|exists on disk, but not in|invalid object name|bad revision|unknown revision/i.test(show.stderr)) return null;
      throw new RepositoryReadError(`could not read the Procfile of ${where}: ${show.stderr.trim()}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

function git(
  args: string[],
  cwd: string,
  timeoutMs: number,
  env: Record<string, string>,
  user: { uid: number; gid: number } | null,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env, ...(user ?? {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout = (stdout + text).slice(0, 1024 * 1024)));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new RepositoryReadError(error.code === 'ENOENT' ? 'git is not installed on this machine' : error.message));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: signal ? `${stderr}\n(git was stopped after ${Math.round(timeoutMs / 1000)} s)` : stderr });
    });
  });
}
