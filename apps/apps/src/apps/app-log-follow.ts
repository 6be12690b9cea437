import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { type AppLogBatch, type AppLogLine, appLogStreamSubject } from '@launchpad/contracts';
import { NATS_CONNECTION } from '@launchpad/messaging';
import type { Runtime } from '@launchpad/runtime';
import { gauge } from '@launchpad/telemetry';
import { APP_RUNTIME } from '../config.js';
import { replicaLabel } from '../replicas/replica-plan.js';
import { workloadsOf } from './app-view.js';

const following = gauge('launchpad_app_log_follows', 'App log streams this replica follows for a client now');

/** How often the follower looks for replicas that started (or the app that went). */
const SCAN_MS = 1000;
/** Lines are sent in batches at most this often, so that a chatty replica is not one message a line. */
const FLUSH_MS = 100;
/** An empty batch after this long without one: the follower's "are you still there". */
const HEARTBEAT_MS = 5000;
/** How long the follower has to acknowledge a batch before the follow ends. */
const ACK_TIMEOUT_MS = 10_000;
/** Lines held while the follower is slow; older ones are dropped beyond (and the drop is said). */
const MAX_QUEUED_LINES = 5000;
/** Encoded batch size kept well under NATS's max_payload (1 MiB by default). */
const MAX_BATCH_BYTES = 256 * 1024;

export interface FollowRequest {
  launcherId: string;
  lines: number;
  streamId: string;
  /** Null while the app exists; else why the stream ends (e.g. it was deleted). */
  gone: () => Promise<string | null>;
}

/**
 * Follows an app's output with Runtime.streamLogs and sends it to whoever asked (the gateway, for a
 * `GET /apps/{id}/logs?follow=true` stream): the last `lines` lines of each replica, then what each
 * writes; a replica that starts later joins with what it wrote since the follow began. Each batch
 * is a NATS request to appLogStreamSubject(streamId): when nobody answers (the client disconnected
 * and the gateway unsubscribed, or the gateway went), every stream is aborted, so nothing is read
 * for nobody. A heartbeat finds that out when no replica writes anything.
 */
@Injectable()
export class AppLogFollows implements OnApplicationShutdown {
  private readonly logger = new Logger(AppLogFollows.name);
  private readonly follows = new Set<AbortController>();

  constructor(
    @Inject(APP_RUNTIME) private readonly runtime: Runtime,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  /** Starts following in the background; returns at once. */
  start(request: FollowRequest): void {
    const abort = new AbortController();
    this.follows.add(abort);
    following.set(this.follows.size);
    void this.follow(request, abort)
      .catch((error) => this.logger.warn({ launcherId: request.launcherId, err: String((error as Error)?.message ?? error) }, 'an app log follow failed'))
      .finally(() => {
        abort.abort();
        this.follows.delete(abort);
        following.set(this.follows.size);
      });
  }

  get active(): number {
    return this.follows.size;
  }

  onApplicationShutdown(): void {
    for (const abort of this.follows) abort.abort();
  }

  private async follow({ launcherId, lines, streamId, gone }: FollowRequest, abort: AbortController): Promise<void> {
    const subject = appLogStreamSubject(streamId);
    const signal = abort.signal;
    const since = new Date();
    const queue: AppLogLine[] = [];
    let dropped = 0;
    const readers = new Map<string, Promise<void>>();
    /** Replicas whose stream ended, with the start of the run it followed: read again only for a new run. */
    const finished = new Map<string, string | null>();
    let first = true;

    const read = (id: string, startedAt: string | null, initial: boolean) => {
      const label = replicaLabel(id);
      // Replicas there from the start: their last lines. One that joins later: what it wrote since we began.
      const options = initial ? { follow: true, tailLines: lines, signal } : { follow: true, sinceTime: since, signal };
      const reader = (async () => {
        try {
          for await (const line of this.runtime.streamLogs(id, options)) {
            if (signal.aborted) return;
            queue.push({ replica: label, text: line.text });
            if (queue.length > MAX_QUEUED_LINES) {
              queue.shift();
              dropped++;
            }
          }
        } catch (error) {
          if (!signal.aborted) this.logger.warn({ launcherId, replica: id, err: String((error as Error)?.message ?? error) }, 'following a replica log failed; it joins again on the next scan');
        } finally {
          // Ended (the replica stopped or went, or its log could not be read): a new run of that id joins again.
          readers.delete(id);
          finished.set(id, startedAt);
        }
      })();
      readers.set(id, reader);
    };

    const send = async (batch: AppLogBatch): Promise<boolean> => {
      try {
        await this.nc.request(subject, JSON.stringify(batch), { timeout: ACK_TIMEOUT_MS });
        return true;
      } catch {
        // No responder or no answer: the follower is gone.
        return false;
      }
    };

    let lastSent = Date.now();
    let lastScan = 0;
    while (!signal.aborted) {
      const now = Date.now();
      if (now - lastScan >= SCAN_MS) {
        lastScan = now;
        const why = await gone().catch(() => null);
        if (why) {
          await send({ lines: [], end: why });
          return;
        }
        for (const w of workloadsOf(launcherId, await this.runtime.list())) {
          if (readers.has(w.id) || (finished.has(w.id) && finished.get(w.id) === w.startedAt)) continue;
          read(w.id, w.startedAt, first && !finished.has(w.id));
        }
        first = false;
      }
      if (queue.length > 0 || dropped > 0 || Date.now() - lastSent >= HEARTBEAT_MS) {
        const batch: AppLogLine[] = [];
        if (dropped > 0) {
          batch.push({ replica: 'launchpad', text: `(${dropped} line(s) dropped: the log was read faster than it could be sent)` });
          dropped = 0;
        }
        let bytes = 0;
        while (queue.length > 0 && bytes < MAX_BATCH_BYTES) {
          const line = queue.shift()!;
          bytes += Buffer.byteLength(line.text) + line.replica.length + 32;
          batch.push(line);
        }
        if (!(await send({ lines: batch }))) return;
        lastSent = Date.now();
        if (queue.length > 0) continue;
      }
      await new Promise((resolve) => setTimeout(resolve, FLUSH_MS));
    }
  }
}
