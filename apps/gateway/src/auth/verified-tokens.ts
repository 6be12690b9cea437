import type { Principal } from '@launchpad/contracts';

/** How long a verified token is believed without verifying it again (a JWKS key withdrawn is honoured after this). */
export const VERIFIED_FOR_MS = 60_000;
const LIMIT = 10_000;

/**
 * Tokens verified lately, and whom they name: a client sends the same bearer token with every
 * call, and verifying it (a signature, claims) was the largest single cost of an API call. An entry
 * lasts until the token expires, or VERIFIED_FOR_MS at most; the exact token string is the key, so
 * nothing but the very token verified is believed. Bounded: the oldest entry goes first.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, { principal: Principal; expiresAt: number | undefined; until: number }>();

  constructor(private readonly clock: () => number = Date.now) {}

  get(token: string): Principal | undefined {
    return this.entry(token)?.principal;
  }

  /** Whom the token names and when it expires (its `exp`, ms since the epoch), if it was verified lately. */
  entry(token: string): { principal: Principal; expiresAt: number | undefined } | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.until > this.clock()) return { principal: entry.principal, expiresAt: entry.expiresAt };
    this.entries.delete(token);
    return undefined;
  }

  /** `expiresAt`: the token's `exp`, in ms since the epoch (none: VERIFIED_FOR_MS). */
  set(token: string, principal: Principal, expiresAt: number | undefined): void {
    const now = this.clock();
    const until = Math.min(expiresAt ?? Infinity, now + VERIFIED_FOR_MS);
    if (until <= now) return;
    if (this.entries.size >= LIMIT) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { principal, expiresAt, until });
  }

  get size(): number {
    return this.entries.size;
  }
}
