import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogLine, LogOptions } from '../runtime.js';
import { linesAfter, tailFileAt } from './log-tail.js';

/** How often a followed file is looked at for new lines. */
const FOLLOW_INTERVAL_MS = 200;
/** Read per look, so a program that writes fast cannot make one step hold unbounded memory. */
const READ_BYTES = 256 * 1024;
/** Lines kept when no tailLines is given. */
const ALL_LINES = 100_000;

export interface FollowOptions extends LogOptions {
  /** Asked between looks while following: false ends the stream (the workload was removed, the runtime closed). */
  stillWanted: () => Promise<boolean>;
  intervalMs?: number;
}

/**
 * A program's output file as a stream of lines: its tail, then (with `follow`) each line once it
 * is complete, as `kubectl logs -f` gives it. The file has no timestamps: lines of the tail have
 * no time, and with `sinceTime` they are skipped when the file was last written before it;
 * followed lines carry the time they were read.
 */
export async function* followLog(path: string, options: FollowOptions): AsyncGenerator<LogLine> {
  const { signal } = options;
  if (signal?.aborted) return;
  const since = options.sinceTime?.getTime();
  const modified = await stat(path).then((s) => s.mtimeMs, () => null);
  const tail = await tailFileAt(path, options.tailLines ?? ALL_LINES);
  if (since === undefined || (modified !== null && modified >= since)) {
    for (const text of tail.lines) yield { text, time: null };
  }
  if (!options.follow) return;
  let offset = tail.size;
  const interval = options.intervalMs ?? FOLLOW_INTERVAL_MS;
  while (!signal?.aborted) {
    const next = await linesAfter(path, offset, READ_BYTES);
    offset = next.next;
    const time = new Date().toISOString();
    for (const text of next.lines) yield { text, time };
    if (next.lines.length > 0) continue;
    if (!(await options.stillWanted())) return;
    try {
      await sleep(interval, undefined, { signal });
    } catch {
      return; // aborted
    }
  }
}
