import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * What is stored instead of a webhook secret: `hmac-sha256$<key id>$<digest>` (base64url), the
 * HMAC-SHA256 of the secret under a server-side key (the pepper, WEBHOOK_SECRET_PEPPER).
 *
 * Why not a slow hash (scrypt, as before): a webhook secret is not a password a person remembers
 * but a random token of at least 16 characters, so a slow hash buys nothing against guessing
 * (there is nothing guessable to slow down), while every wrong token — which anyone on the
 * internet can send — cost ~45 ms of the libuv thread pool, enough for a few requests a second to
 * starve legitimate deliveries until GitLab disables the hook. An HMAC costs microseconds, so
 * wrong tokens need no rate limit; and since the key is not in the database, a copy of the
 * database alone does not let anyone test guesses offline (even of a weak secret someone chose).
 * The key id says which pepper made a digest, so that a changed pepper is reported as such.
 */
const SCHEME = 'hmac-sha256';

export class SecretDigests {
  readonly keyId: string;
  /** What an absent secret is compared against, so that "no secret" costs what "wrong secret" costs. */
  private readonly nothing: Buffer;

  constructor(private readonly pepper: Buffer) {
    this.keyId = createHmac('sha256', pepper).update('launchpad webhook secret key id').digest('base64url').slice(0, 8);
    this.nothing = this.mac('');
  }

  private mac(secret: string): Buffer {
    return createHmac('sha256', this.pepper).update(secret, 'utf8').digest();
  }

  digest(secret: string): string {
    return [SCHEME, this.keyId, this.mac(secret).toString('base64url')].join('$');
  }

  /** Whether a stored digest was made with another key (e.g. the pepper was changed since). */
  madeWithAnotherKey(stored: string): boolean {
    const [scheme, keyId] = stored.split('$');
    return scheme !== SCHEME || keyId !== this.keyId;
  }

  /**
   * Whether the presented token is the secret behind the stored digest, in constant time; with no
   * digest stored (or one made with another key) it does the same work and says no.
   */
  matches(presented: string, stored: string | null): boolean {
    const actual = this.mac(presented);
    const [scheme, keyId, encoded] = stored?.split('$') ?? [];
    const decoded = scheme === SCHEME && keyId === this.keyId && encoded !== undefined ? Buffer.from(encoded, 'base64url') : null;
    const usable = decoded !== null && decoded.length === actual.length;
    const same = timingSafeEqual(actual, usable ? decoded : this.nothing);
    return usable && same;
  }
}

/** Constant-time equality of two strings of any length (compared as SHA-256 digests). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
