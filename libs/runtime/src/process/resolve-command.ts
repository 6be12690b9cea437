import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/**
 * Finds the executable a command name refers to, as `execvp` would: a name with a slash is a
 * path (relative to `cwd`), any other name is looked up in each PATH directory in turn (an empty
 * entry meaning `cwd`). Returns its absolute path, or null when there is no such executable file.
 */
export async function resolveCommand(command: string, pathEnv: string, cwd: string): Promise<string | null> {
  if (command === '') return null;
  if (command.includes('/')) {
    const candidate = isAbsolute(command) ? command : resolve(cwd, command);
    return (await isExecutableFile(candidate)) ? candidate : null;
  }
  for (const dir of pathEnv.split(delimiter)) {
    const candidate = resolve(cwd, join(dir === '' ? '.' : dir, command));
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
