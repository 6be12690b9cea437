/**
 * Procfiles as Heroku and foreman read them: one `<process type>: <command>` per line; blank
 * lines and `#` comments are skipped. The first declaration of a type wins.
 */
export function parseProcfile(text: string): Map<string, string> {
  const processes = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z0-9_-]+)\s*:\s*(.*)$/.exec(line);
    if (!match?.[1] || !match[2]) continue;
    if (!processes.has(match[1])) processes.set(match[1], match[2].trim());
  }
  return processes;
}

/** The command of the `web` process type, or null when there is none. */
export function webCommand(text: string): string | null {
  return parseProcfile(text).get('web') ?? null;
}

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * How the runtime runs a Procfile line: with `sh -c`, from the repository's directory (the
 * runtime clones it into the work directory), as Heroku does. Every `$` is doubled so that the
 * runtime's `$(VAR)` expansion gives the shell the line exactly as written.
 */
export function procfileArgv(repository: string, line: string): { command: string[]; args: string[] } {
  const script = `cd -- ${shellQuote(repository)} || exit 1\n${line}`;
  return { command: ['sh'], args: ['-c', script.replace(/\$/g, '$$$$')] };
}
