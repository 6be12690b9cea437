import { Injectable } from '@nestjs/common';

/**
 * Tells this replica's reconciler, the moment a use case has committed, which session it changed.
 * The change's event wakes the reconciler too (on whichever replica leads), but only after the
 * outbox relay has published it and NATS delivered it back: 5–10 ms of every launch, resume and
 * deletion spent waiting. A wake on a replica that does not lead is dropped, as the event's is.
 */
@Injectable()
export class SessionWakeups {
  private readonly listeners = new Set<(id: string) => void>();

  listen(listener: (id: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(id: string): void {
    for (const listener of this.listeners) listener(id);
  }
}
