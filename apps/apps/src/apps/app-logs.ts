import type { AppLogLine } from '@launchpad/contracts';

/** One replica's output, as Runtime.logsAfter reads it: at most about `maxBytes`, in whole lines. */
export type LogReader = (workloadId: string, cursor: string | null, lines: number, maxBytes: number) => Promise<{ lines: string[]; cursor: string }>;

/** What one logs reply may hold, encoded as JSON: well under NATS's max_payload (1 MiB by default). */
export const LOGS_REPLY_MAX_BYTES = 768 * 1024;
/** Output read per call, for every replica together, before it is cut to fit a reply. */
export const LOGS_READ_BUDGET_BYTES = 512 * 1024;
/** No replica gets less than this per call, so that each goes on however many there are. */
const MIN_BYTES_PER_REPLICA = 256;

export interface AppLogs {
  lines: AppLogLine[];
  cursor: Record<string, string>;
}

/**
 * Every replica's output within one reply: without a cursor the last `lines` lines of each (as
 * many as fit), with one what each wrote since (a replica new since then from its first line;
 * what does not fit comes next time). The budget is shared by the replicas and shrunk until the
 * reply fits, however the output encodes (control characters take six bytes in JSON).
 */
export async function readAppLogs(read: LogReader, replicas: readonly { id: string; label: string }[], lines: number, cursor: Record<string, string> | null): Promise<AppLogs> {
  for (let budget = LOGS_READ_BUDGET_BYTES; ; budget = Math.floor(budget / 4)) {
    const perReplica = Math.max(MIN_BYTES_PER_REPLICA, Math.floor(budget / Math.max(1, replicas.length)));
    const out: AppLogs = { lines: [], cursor: {} };
    for (const replica of replicas) {
      const from = cursor === null ? null : (cursor[replica.id] ?? '0');
      const result = await read(replica.id, from, lines, perReplica);
      out.cursor[replica.id] = result.cursor;
      for (const text of result.lines) out.lines.push({ replica: replica.label, text });
    }
    // The smallest budget is returned whatever it weighs: the RPC server answers an error for a reply it cannot send.
    if (perReplica === MIN_BYTES_PER_REPLICA || Buffer.byteLength(JSON.stringify(out)) <= LOGS_REPLY_MAX_BYTES) return out;
  }
}
