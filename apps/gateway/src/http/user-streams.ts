import { Inject, Injectable } from '@nestjs/common';
import { CommonErrorCode, DomainError } from '@launchpad/contracts';
import { GATEWAY_CONFIG } from '../auth/token-verifier.js';
import type { GatewayConfig } from '../config.js';

// setTimeout's longest wait (about 24.8 days); a token valid for longer is looked at again then.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One user's hold on a server-sent event stream: a slot among their SSE_STREAMS_PER_USER. */
export interface StreamLease {
  /**
   * Calls `end` with the reason once the token that opened the stream expires (the stream says
   * so and closes); the slot is released then too.
   */
  endAtExpiry(end: (reason: { reason: 'token-expired'; message: string }) => void): void;
  /** Gives the slot back; any number of times, once counts. */
  release(): void;
}

/**
 * The server-sent event streams each user holds open on this gateway, at most SSE_STREAMS_PER_USER
 * at once (each holds a connection, a subscription or a poll loop): one more is refused 429 until
 * one ends. A stream lasts no longer than the token that opened it.
 */
@Injectable()
export class UserStreams {
  private readonly open = new Map<string, number>();
  private readonly limit: number;

  constructor(@Inject(GATEWAY_CONFIG) config: Pick<GatewayConfig, 'streamsPerUser'>) {
    this.limit = config.streamsPerUser;
  }

  /** Takes one of the user's slots, or refuses with TOO_MANY_STREAMS. */
  acquire(userId: string, tokenExpiresAt: number): StreamLease {
    const held = this.open.get(userId) ?? 0;
    if (held >= this.limit) {
      throw new DomainError(
        CommonErrorCode.TOO_MANY_STREAMS,
        `you already have ${held} event streams open, the most one user may hold (${this.limit}, SSE_STREAMS_PER_USER): close one (another tab or client) and try again`,
      );
    }
    this.open.set(userId, held + 1);
    let released = false;
    let timer: NodeJS.Timeout | undefined;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      const left = (this.open.get(userId) ?? 1) - 1;
      if (left > 0) this.open.set(userId, left);
      else this.open.delete(userId);
    };
    const endAtExpiry = (end: (reason: { reason: 'token-expired'; message: string }) => void) => {
      if (released) return;
      const arm = () => {
        const wait = tokenExpiresAt - Date.now();
        if (wait > 0) {
          timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
          timer.unref?.();
          return;
        }
        release();
        end({ reason: 'token-expired', message: `the token that opened this stream expired at ${new Date(tokenExpiresAt).toISOString()}; sign in again and reconnect` });
      };
      arm();
    };
    return { endAtExpiry, release };
  }

  /** Streams the user holds now (for tests and metrics). */
  heldBy(userId: string): number {
    return this.open.get(userId) ?? 0;
  }
}
