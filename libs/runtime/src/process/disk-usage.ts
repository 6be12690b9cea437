import { execFile } from 'node:child_process';

/**
 * Bytes a directory takes on disk, as `du -s -B1 -x` counts them: allocated blocks, hard links
 * once, without crossing into other file systems (a storage mounted under the work directory is
 * not the session's disk). Null when the directory does not exist.
 */
export function directoryUsage(dir: string, timeoutMs = 60_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    execFile('du', ['-s', '-B1', '-x', dir], { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      const bytes = Number(/^(\d+)\s/.exec(stdout)?.[1]);
      if (Number.isFinite(bytes) && stdout) return resolve(bytes);
      if (/No such file or directory/.test(stderr)) return resolve(null);
      // du still prints a total when some files could not be read; only a total-less run fails.
      reject(new Error(`could not measure ${dir}: ${(stderr || (error as Error | null)?.message || 'du printed nothing').trim()}`));
    });
  });
}
