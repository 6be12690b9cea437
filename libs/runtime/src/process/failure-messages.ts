import { constants } from 'node:os';

/** How a program ended, as far as we could tell. */
export interface ProgramExit {
  /** The exit status the wrapper recorded (128 + n when the program died of signal n). */
  code: number | null;
  /** The signal that ended the wrapper itself, when that is all we know. */
  signal: NodeJS.Signals | null;
}

/** The exit code to report: the recorded status, or 128 + the signal number as a shell would say. */
export function exitCodeOf(exit: ProgramExit): number | null {
  if (exit.code !== null) return exit.code;
  if (exit.signal !== null) {
    const number = constants.signals[exit.signal];
    return number === undefined ? null : 128 + number;
  }
  return null;
}

export function withLastLines(message: string, lines: readonly string[]): string {
  return lines.length === 0 ? message : `${message}; last output:\n${lines.join('\n')}`;
}

export function exitMessage(exit: ProgramExit, beforeReady: boolean, lastLines: readonly string[]): string {
  const what =
    exit.code !== null ? `exited with code ${exit.code}` : exit.signal !== null ? `was killed by ${exit.signal}` : 'exited (exit code unknown)';
  return withLastLines(beforeReady ? `${what} before it was ready` : what, lastLines);
}

export function readinessTimeoutMessage(port: number, path: string, timeoutMs: number, lastLines: readonly string[]): string {
  const seconds = Math.round(timeoutMs / 100) / 10;
  return withLastLines(`did not answer on port ${port} at ${path} within ${seconds} s`, lastLines);
}

export function commandNotFoundMessage(command: string): string {
  return `command not found: ${command} (the process runtime runs the environment's command on this machine: install it, or change the environment's command)`;
}

export const EMPTY_COMMAND_MESSAGE = "the environment has no command to run (its command is empty): set the environment's command";

export const INTERRUPTED_PREPARATION_MESSAGE =
  'its preparation was interrupted (the runtime stopped while cloning its repositories); it is prepared again when it is next started';

/** `https://user:token@host/repo.git` → `https://***@host/repo.git`, so credentials never reach a message. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}
