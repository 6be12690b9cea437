import { createHash } from 'node:crypto';
import { chmod, chown, lchown, lstat, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import { processUids } from './process-identity.js';

/** The unprivileged identity one workload runs as; gid equals uid, and neither needs a passwd entry. */
export interface WorkloadUser {
  uid: number;
  gid: number;
}

/** Uids the runtime may hand out, inclusive. */
export interface UidRange {
  first: number;
  last: number;
}

/**
 * One uid per workload, for as long as the workload exists (its files are owned by it across
 * stops), claimed in `<dataDir>/.users`: `<uid>` holds the workload id, `id-<id>` holds the uid.
 * The claim of a uid is an exclusive create, so two runtimes over one data directory (replicas of
 * a service on one machine) never hand one uid to two workloads. Per workload rather than per user:
 * an app replica belongs to no user, and a user's two sessions need not read each other either.
 * Two installations on one machine must be given disjoint ranges.
 */
export class WorkloadUsers {
  private readonly dir: string;

  constructor(
    dataDir: string,
    private readonly range: UidRange,
  ) {
    this.dir = join(dataDir, '.users');
  }

  async userFor(id: string): Promise<WorkloadUser> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const recorded = await this.recorded(id);
    if (recorded !== null) return { uid: recorded, gid: recorded };
    const size = this.range.last - this.range.first + 1;
    // Start where the id hashes to, so claims spread over the range instead of queueing at its start.
    const start = createHash('sha256').update(id).digest().readUInt32BE(0) % size;
    for (let i = 0; i < size; i++) {
      const uid = this.range.first + ((start + i) % size);
      const owner = await this.claim(uid, id);
      if (owner === id) {
        await writeFile(join(this.dir, `id-${id}`), String(uid), { mode: 0o600 });
        return { uid, gid: uid };
      }
    }
    throw new Error(`every uid of RUNTIME_UID_RANGE ${this.range.first}-${this.range.last} is taken by a workload: widen the range`);
  }

  /** Gives the workload's uid back, once its files are gone. */
  async release(id: string): Promise<void> {
    const uid = await this.recorded(id);
    if (uid !== null) await rm(join(this.dir, String(uid)), { force: true });
    await rm(join(this.dir, `id-${id}`), { force: true });
  }

  /** Every uid claimed now, e.g. to tell an operator how full the range is. */
  async claimed(): Promise<number[]> {
    const entries = await readdir(this.dir).catch(() => [] as string[]);
    return entries.filter((entry) => /^\d+$/.test(entry)).map(Number);
  }

  private async recorded(id: string): Promise<number | null> {
    try {
      const text = (await readFile(join(this.dir, `id-${id}`), 'utf8')).trim();
      if (!/^\d+$/.test(text)) return null;
      const uid = Number(text);
      // Only if the uid's own claim still names this workload.
      const owner = (await readFile(join(this.dir, text), 'utf8').catch(() => '')).trim();
      return owner === id ? uid : null;
    } catch {
      return null;
    }
  }

  /** Who holds `uid` after trying to take it for `id`. */
  private async claim(uid: number, id: string): Promise<string> {
    const path = join(this.dir, String(uid));
    try {
      await writeExclusive(path, id);
      return id;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return (await readFile(path, 'utf8')).trim();
    }
  }
}

async function writeExclusive(path: string, content: string): Promise<void> {
  const file = await open(path, 'wx', 0o600);
  try {
    await file.writeFile(content);
  } finally {
    await file.close();
  }
}

/**
 * Makes `dir` the workload user's own (0700), and everything in it: a work directory made while
 * the runtime ran without isolation, or under another uid, is handed over rather than left
 * unwritable. Symbolic links are changed themselves, never followed (they are the user's).
 */
export async function giveToUser(dir: string, user: WorkloadUser): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stat = await lstat(dir);
  if (stat.uid !== user.uid || stat.gid !== user.gid) await chownTree(dir, user);
  await chmod(dir, 0o700);
}

async function chownTree(path: string, user: WorkloadUser): Promise<void> {
  const stat = await lstat(path);
  if (stat.isDirectory()) {
    for (const entry of await readdir(path)) await chownTree(join(path, entry), user);
  }
  if (stat.isSymbolicLink()) await lchown(path, user.uid, user.gid);
  else await chown(path, user.uid, user.gid);
}

/**
 * The first directory above `dir` that others cannot search (no `x` for others), or null. A
 * workload reaches its work directory by absolute path, so every directory above must let it
 * pass, though none need let it list (0711).
 */
export async function unsearchableAncestor(dir: string): Promise<string | null> {
  for (let current = dirname(dir); ; current = dirname(current)) {
    const stat = await lstat(current);
    if ((stat.mode & 0o001) === 0) return current;
    if (current === dirname(current)) return null;
  }
}

/**
 * Ends every process that still runs as a workload's uid: its program may have left some outside
 * its process group (setsid, a double fork), which would outlive a stop or a hibernation and still
 * be there when the uid serves the workload's next run or, released, another workload. kill(-1)
 * from a shell of that uid reaches exactly its processes, by the kernel's own rule, with no pid
 * read from /proc that could be reused meanwhile; repeated while any is left (one may have forked
 * as the first went out). True when none is left. Needs root.
 */
export async function endProcessesOf(uid: number, rounds = 5): Promise<boolean> {
  for (let round = 0; round < rounds && (await processUids()).has(uid); round++) {
    await new Promise<void>((resolve) => {
      const shell = spawn('/bin/sh', ['-c', 'kill -KILL -1'], { uid, gid: uid, stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } });
      shell.on('error', () => resolve());
      shell.on('exit', () => resolve());
    });
  }
  return !(await processUids()).has(uid);
}
