import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { appLogBatchSchema, type AppLogLine, appLogStreamSubject, appsRpc, type Principal } from '@launchpad/contracts';
import { NATS_CONNECTION, RpcClient } from '@launchpad/messaging';
import { endEventStream, openEventStream } from '../http/event-stream.js';
import { UserStreams } from '../http/user-streams.js';
import type { Response } from 'express';

const HEARTBEAT_MS = 15_000;
/**
 * The apps service sends at least a heartbeat every 5 s; after this long without anything from it
 * (the replica that followed went away) the stream ends, saying so, and the client reconnects.
 */
const SILENCE_MS = 30_000;

export const prefixed = (line: AppLogLine) => `[${line.replica}] ${line.text}`;

/**
 * Follows an app's output as server-sent events. The apps service follows each replica with
 * Runtime.streamLogs (the last `lines` lines first, then what they write; replicas that start
 * meanwhile join) and sends batches to a subject of this stream's own, which this gateway
 * subscribes to before it asks (appsRpc.followLogs, which also authorises the caller). Each batch
 * is acknowledged; when the client disconnects the subscription goes, the next batch or heartbeat
 * finds no responder, and the apps service stops reading. Each event: `{replica, line}`.
 */
@Injectable()
export class AppLogStream {
  private readonly logger = new Logger(AppLogStream.name);

  constructor(
    private readonly rpc: RpcClient,
    private readonly streams: UserStreams,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  /** `tokenExpiresAt`: when the caller's token expires (ms since the epoch); the stream ends then. */
  async stream(caller: Principal, launcherId: string, lines: number, res: Response, tokenExpiresAt: number): Promise<void> {
    // Refused (429) before anything is asked.
    const lease = this.streams.acquire(caller.userId, tokenExpiresAt);
    const streamId = randomBytes(16).toString('base64url');
    let closed = false;
    let opened = false;
    const timers: { heartbeat?: NodeJS.Timeout; silence?: NodeJS.Timeout } = {};
    const held: { subscription?: Subscription } = {};
    const pending: AppLogLine[] = [];
    let pendingEnd: string | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      lease.release();
      clearInterval(timers.heartbeat);
      clearTimeout(timers.silence);
      // Unsubscribed: the apps service's next batch finds no responder and it stops following.
      held.subscription?.unsubscribe();
      if (!res.writableEnded) res.end();
    };
    const write = (batch: AppLogLine[]) => {
      for (const line of batch) res.write(`event: log\ndata: ${JSON.stringify({ replica: line.replica, line: prefixed(line) })}\n\n`);
    };
    const end = (reason: string) => {
      if (closed) return;
      endEventStream(res, { reason });
      close();
    };
    const heard = () => {
      clearTimeout(timers.silence);
      timers.silence = setTimeout(() => end('the apps service stopped sending this log; reconnect to follow it again'), SILENCE_MS);
      timers.silence.unref?.();
    };
    // Registered before anything is awaited: a client that leaves while the follow is asked for
    // must still end it (see SessionProgressStream).
    res.on('close', close);
    // Subscribed before asking, so that no batch is sent before anyone listens.
    held.subscription = this.nc.subscribe(appLogStreamSubject(streamId), {
      callback: (err, msg) => {
        if (err || closed) return;
        const parsed = appLogBatchSchema.safeParse((() => {
          try {
            return msg.json();
          } catch {
            return undefined;
          }
        })());
        // Acknowledged even when malformed: the sender is the apps service, whose bug this would be.
        msg.respond('');
        if (!parsed.success) return;
        heard();
        if (!opened) pending.push(...parsed.data.lines);
        else write(parsed.data.lines);
        if (parsed.data.end !== undefined) {
          if (opened) end(parsed.data.end);
          else pendingEnd = parsed.data.end;
        }
      },
    });
    try {
      // Authorises the caller before a single byte is streamed (a refusal is an ordinary problem+json).
      await this.rpc.call(appsRpc.followLogs, { caller, launcherId, lines, streamId });
    } catch (error) {
      close();
      throw error;
    }
    if (closed) return;
    openEventStream(res);
    opened = true;
    lease.endAtExpiry((why) => {
      endEventStream(res, why);
      close();
    });
    write(pending.splice(0));
    if (pendingEnd !== undefined) return end(pendingEnd);
    heard();
    timers.heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    this.logger.debug(`following the logs of app ${launcherId} (stream ${streamId})`);
  }
}
