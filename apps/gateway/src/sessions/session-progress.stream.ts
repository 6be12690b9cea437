import { Injectable, Logger } from '@nestjs/common';
import { type Principal, type SessionProgress, sessionsRpc as rpc } from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import type { Response } from 'express';
import { endEventStream, openEventStream } from '../http/event-stream.js';
import { UserStreams } from '../http/user-streams.js';
import { SessionEventFeed } from './session-event-feed.js';

const HEARTBEAT_MS = 15_000;

/**
 * Streams a session's launch steps as server-sent events: first the steps already recorded, then
 * each new one as the sessions service publishes it. Live events are subscribed to before the
 * history is read and de-duplicated by sequence number, so none falls in the gap between the two.
 */
@Injectable()
export class SessionProgressStream {
  private readonly logger = new Logger(SessionProgressStream.name);

  constructor(
    private readonly rpc: RpcClient,
    private readonly feed: SessionEventFeed,
    private readonly streams: UserStreams,
  ) {}

  /** `tokenExpiresAt`: when the caller's token expires (ms since the epoch); the stream ends then. */
  async stream(caller: Principal, sessionId: string, afterSeq: number, res: Response, tokenExpiresAt: number): Promise<void> {
    // Refused (429) before anything is subscribed to or asked for.
    const lease = this.streams.acquire(caller.userId, tokenExpiresAt);
    const buffered: SessionProgress[] = [];
    let lastSeq = afterSeq;
    let live = false;
    let deleted = false;
    let closed = false;
    let heartbeat: NodeJS.Timeout | undefined;
    const send = (p: SessionProgress) => {
      if (p.seq <= lastSeq) return;
      lastSeq = p.seq;
      res.write(`id: ${p.seq}\nevent: progress\ndata: ${JSON.stringify(p)}\n\n`);
    };
    const endWithDeletion = () => {
      res.write(`event: deleted\ndata: ${JSON.stringify({ sessionId })}\n\n`);
      close();
    };
    const stopListening = this.feed.listen(sessionId, {
      progress: (p) => {
        if (live) send(p);
        else buffered.push(p);
      },
      deleted: () => {
        deleted = true;
        if (live) endWithDeletion();
      },
    });
    function close() {
      if (closed) return;
      closed = true;
      lease.release();
      stopListening();
      clearInterval(heartbeat);
      if (!res.writableEnded) res.end();
    }
    // Registered before anything is awaited: a client that leaves while the history is read
    // must still release the subscriptions.
    res.on('close', close);
    try {
      // Authorises the caller (404 for anyone but the owner) before a single byte is streamed.
      const history = await this.rpc.call(rpc.progress, { caller, id: sessionId, afterSeq });
      if (closed) return;
      openEventStream(res);
      for (const p of history.items) send(p);
      live = true;
      for (const p of buffered.sort((a, b) => a.seq - b.seq)) send(p);
      if (deleted) return endWithDeletion();
      heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      lease.endAtExpiry((why) => {
        endEventStream(res, why);
        close();
      });
    } catch (error) {
      lease.release();
      stopListening();
      closed = true;
      this.logger.debug(`progress stream for session ${sessionId} refused: ${(error as Error).message}`);
      throw error;
    }
  }
}
