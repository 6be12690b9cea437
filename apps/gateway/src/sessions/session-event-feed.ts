import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { envelopeSchema, type SessionProgress, sessionDeletedV1, sessionProgressedV1, sessionProgressSchema } from '@launchpad/contracts';
import { jsonOf, NATS_CONNECTION } from '@launchpad/messaging';

export interface SessionListener {
  progress(step: SessionProgress): void;
  deleted(): void;
}

/** The session a progress or deletion event is about, read without validating the rest. */
function sessionIdOf(body: unknown, key: 'sessionId' | 'id'): string | undefined {
  const id = (body as { data?: Record<string, unknown> } | undefined)?.data?.[key];
  return typeof id === 'string' ? id : undefined;
}

/**
 * One subscription per gateway to every session's progress and deletion events, handed to the
 * streams open for that session. Each stream subscribing (and parsing every session's events) on
 * its own cost a parse per event per open stream; here an event is parsed once, and validated only
 * when somebody follows its session.
 */
@Injectable()
export class SessionEventFeed implements OnApplicationShutdown {
  private readonly listeners = new Map<string, Set<SessionListener>>();
  private subscriptions: Subscription[] = [];

  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  /** Calls `listener` for each event of the session from now on, until the returned function is called. */
  listen(sessionId: string, listener: SessionListener): () => void {
    if (this.subscriptions.length === 0) this.subscribe();
    let set = this.listeners.get(sessionId);
    if (!set) {
      set = new Set();
      this.listeners.set(sessionId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(sessionId) === set) this.listeners.delete(sessionId);
    };
  }

  /** How many sessions are followed now. */
  get following(): number {
    return this.listeners.size;
  }

  onApplicationShutdown(): void {
    for (const sub of this.subscriptions) sub.unsubscribe();
    this.subscriptions = [];
  }

  private subscribe(): void {
    // Callbacks never throw (nats.js runs them in its reader): bad JSON is undefined, a bad envelope skipped.
    const progress = this.nc.subscribe(sessionProgressedV1.type, {
      callback: (err, msg) => {
        if (err) return;
        const body = jsonOf(msg);
        const id = sessionIdOf(body, 'sessionId');
        const set = id === undefined ? undefined : this.listeners.get(id);
        if (!set) return;
        const envelope = envelopeSchema.safeParse(body);
        const step = envelope.success ? sessionProgressSchema.safeParse(envelope.data.data) : undefined;
        if (!step?.success || step.data.sessionId !== id) return;
        for (const listener of [...set]) listener.progress(step.data);
      },
    });
    const deleted = this.nc.subscribe(sessionDeletedV1.type, {
      callback: (err, msg) => {
        if (err) return;
        const id = sessionIdOf(jsonOf(msg), 'id');
        const set = id === undefined ? undefined : this.listeners.get(id);
        if (!set) return;
        for (const listener of [...set]) listener.deleted();
      },
    });
    this.subscriptions = [progress, deleted];
  }
}
