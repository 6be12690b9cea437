import type { LogLine, LogOptions } from '../runtime.js';
import { followLog } from './log-follow.js';
import { linesAfter, tailFile, tailFileAt } from './log-tail.js';
import { isValidWorkloadId, readWorkloadState, type WorkloadPaths } from './workload-files.js';

/**
 * A workload's output, as the process driver keeps it: one file per workload (stdout and stderr
 * together) under its directory. Read as a tail, after a byte offset (the deprecated cursor), or
 * followed as it grows until the workload is removed or the runtime closes.
 */
export class WorkloadLogs {
  constructor(
    private readonly paths: (id: string) => WorkloadPaths,
    private readonly isOpen: () => boolean,
  ) {}

  async logs(id: string, lines: number): Promise<string[]> {
    if (!isValidWorkloadId(id)) return [];
    return tailFile(this.paths(id).log, lines);
  }

  /** The cursor is a byte offset into the workload's output file. */
  async logsAfter(id: string, cursor: string | null, lines: number, maxBytes?: number): Promise<{ lines: string[]; cursor: string }> {
    if (!isValidWorkloadId(id)) return { lines: [], cursor: '0' };
    const path = this.paths(id).log;
    const offset = cursor === null ? null : Number(cursor);
    if (offset === null || !Number.isSafeInteger(offset) || offset < 0) {
      const tail = await tailFileAt(path, lines, maxBytes);
      return { lines: tail.lines, cursor: String(tail.size) };
    }
    const after = await linesAfter(path, offset, maxBytes);
    return { lines: after.lines, cursor: String(after.next) };
  }

  /** Lines seen being written carry the time they were read; history has no time (sinceTime skips it when the file is older). */
  async *streamLogs(id: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    if (!isValidWorkloadId(id)) return;
    const path = this.paths(id).log;
    yield* followLog(path, {
      ...options,
      // Following ends when the workload is removed (its directory is gone) or this runtime closes.
      stillWanted: async () => this.isOpen() && (await readWorkloadState(this.paths(id).state).catch(() => null)) !== null,
    });
  }
}
