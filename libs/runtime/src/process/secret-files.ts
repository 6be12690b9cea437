import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where a workload's secret files live on the process driver: beside its work directory, never inside it. */
export function secretsDirOf(workloadRoot: string): string {
  return join(workloadRoot, 'secrets');
}

/**
 * Writes the workload's secret files afresh (none: no directory; whatever an earlier run left is removed first) into
 * a directory only the workload may read: 0700, files 0400, owned by the workload's own user when
 * it has one (else by ours, which it runs as). A name is a plain file name (the API checks it);
 * anything with a path separator is refused here too.
 */
export async function writeSecretFiles(dir: string, files: readonly { name: string; content: string }[], user: { uid: number; gid: number } | null = null): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  if (files.length === 0) return;
  await mkdir(dir, { mode: 0o700 });
  await chmod(dir, 0o700);
  for (const file of files) {
    if (!/^(?!\.\.?$)[^/\0]+$/.test(file.name)) throw new Error(`secret file name "${file.name}" is not a plain file name`);
    const path = join(dir, file.name);
    await writeFile(path, file.content, { mode: 0o400, flag: 'wx' });
    if (user) await chown(path, user.uid, user.gid);
  }
  if (user) await chown(dir, user.uid, user.gid);
}

/** The secrets go when the program stops: nothing of them stays on disk while a session is hibernated. */
export async function removeSecretFiles(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
