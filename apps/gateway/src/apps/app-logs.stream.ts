import { Injectable, Logger } from '@nestjs/common';
import { type AppLogLine, appsRpc, type Principal } from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import { endEventStream, openEventStream } from '../http/event-stream.js';
import { UserStreams } from '../http/user-streams.js';
import type { Response } from 'express';

const POLL_MS = 1000;
const HEARTBEAT_MS = 15_000;

export const prefixed = (line: AppLogLine) => `[${line.replica}] ${line.text}`;

/**
 * Follows an app's output as server-sent events: the last lines of every replica first, then
 * what they write, asked for once a second with the cursor the apps service returns (replicas
 * that start meanwhile join with their first line). Each event: `{replica, line}`.
 */
@Injectable()
export class AppLogStream {
  private readonly logger = new Logger(AppLogStream.name);

  constructor(
    private readonly rpc: RpcClient,
    private readonly streams: UserStreams,
  ) {}

  /** `tokenExpiresAt`: when the caller's token expires (ms since the epoch); the stream ends then. */
  async stream(caller: Principal, launcherId: string, lines: number, res: Response, tokenExpiresAt: number): Promise<void> {
    // Refused (429) before the first poll.
    const lease = this.streams.acquire(caller.userId, tokenExpiresAt);
    let closed = false;
    let heartbeat: NodeJS.Timeout | undefined = undefined;
    let wake: (() => void) | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      lease.release();
      clearInterval(heartbeat);
      wake?.();
      if (!res.writableEnded) res.end();
    };
    // Registered before anything is awaited: a client that leaves while the first lines are read
    // must still end the polling (see SessionProgressStream).
    res.on('close', close);
    let first: { lines: AppLogLine[]; cursor: Record<string, string> };
    try {
      // Authorises the caller before a single byte is streamed (a refusal is an ordinary problem+json).
      first = await this.rpc.call(appsRpc.logs, { caller, launcherId, lines, cursor: null });
    } catch (error) {
      closed = true;
      lease.release();
      throw error;
    }
    if (closed) return;
    openEventStream(res);
    lease.endAtExpiry((why) => {
      endEventStream(res, why);
      close();
    });
    let cursor = first.cursor;
    const send = (batch: AppLogLine[]) => {
      for (const line of batch) res.write(`event: log\ndata: ${JSON.stringify({ replica: line.replica, line: prefixed(line) })}\n\n`);
    };
    send(first.lines);
    heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    while (!closed) {
      // The pause is cut short when the client leaves.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (closed) break;
      try {
        const next = await this.rpc.call(appsRpc.logs, { caller, launcherId, lines, cursor });
        if (closed) break;
        cursor = next.cursor;
        send(next.lines);
      } catch (error) {
        if (closed) break;
        // The app or its launcher went, or the caller lost access: say so and end.
        this.logger.debug(`log stream of app ${launcherId} ended: ${(error as Error).message}`);
        endEventStream(res, { reason: (error as Error).message });
        close();
      }
    }
  }
}
