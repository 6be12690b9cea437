import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isProcessRunning, processStartTimeSync } from './process-identity.js';
import { KeyedMutex } from './keyed-mutex.js';

const OWN_PROCESS = { pid: process.pid, startTime: processStartTimeSync(process.pid) };
const RETRY_MS = 10;

/**
 * One change of a workload at a time, across every service process over the same data directory
 * (two replicas of a service on one machine share it), not only within this one: a replica that
 * has lost the lead may still be finishing a start while the new leader removes the workload, and
 * each must see what the other wrote. In-process callers queue on a KeyedMutex; between processes
 * a lock file per workload (`<dir>/<id>`, made with O_EXCL, holding its owner's pid and start time)
 * is taken over only from an owner that no longer runs.
 */
export class WorkloadLocks {
  private readonly local = new KeyedMutex();
  /** Which WorkloadLocks of this process holds a file (tests run two runtimes in one process). */
  private readonly owner = { ...OWN_PROCESS, instance: randomUUID() };

  constructor(private readonly dir: string) {
    // Dot-named, so never taken for a workload's directory (ids start with a letter or digit).
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.local.run(id, async () => {
      const path = join(this.dir, id);
      await this.acquire(path);
      try {
        return await fn();
      } finally {
        await unlink(path).catch(() => undefined);
      }
    });
  }

  private async acquire(path: string): Promise<void> {
    for (;;) {
      try {
        const file = await open(path, 'wx', 0o600);
        await file.writeFile(JSON.stringify(this.owner));
        await file.close();
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      if (await this.abandoned(path)) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  /** Left by a process that has gone (killed while holding it), or unreadable for good. */
  private async abandoned(path: string): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return false; // released meanwhile: try again
    }
    let owner: { pid?: unknown; startTime?: unknown; instance?: unknown };
    try {
      owner = JSON.parse(text) as typeof owner;
    } catch {
      // Being written this very moment, or torn by a crash: a torn one is old.
      return Date.now() - (await mtimeOf(path)) > 5_000;
    }
    if (typeof owner.pid !== 'number') return true;
    if (owner.pid === this.owner.pid && owner.startTime === this.owner.startTime) {
      // Calls of this instance queue on `local`, so one of ours here is left over (its release failed);
      // another instance's in this process is held.
      return owner.instance === this.owner.instance;
    }
    return !(await isProcessRunning({ pid: owner.pid, startTime: typeof owner.startTime === 'string' ? owner.startTime : null }));
  }
}

async function mtimeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return Date.now();
  }
}
