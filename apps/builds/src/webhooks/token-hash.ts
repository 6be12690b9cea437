import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt with Node's default cost (N=16384, r=8, p=1): ~16 MiB and tens of milliseconds per guess. */
const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function derive(secret: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEY_LENGTH, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$<N>$<r>$<p>$<salt>$<hash>` (base64url): what is stored instead of a webhook secret. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, N, R, P);
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether a presented token matches a stored hash; the comparison takes the same time whatever matches. */
export async function verifySecret(presented: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(presented, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Constant-time equality of two strings of any length (compared as SHA-256 digests). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * Remembers tokens that verified, so that a busy project's hooks are not each charged a scrypt:
 * only a keyed digest of the token is kept (with a key that never leaves the process), per stored
 * hash, so changing the secret forgets it. Wrong tokens are never remembered: every guess pays.
 */
export class VerifiedTokens {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, Buffer>();

  constructor(private readonly capacity = 10_000) {}

  private digest(token: string): Buffer {
    return createHmac('sha256', this.key).update(token).digest();
  }

  has(storedHash: string, token: string): boolean {
    const known = this.entries.get(storedHash);
    return known !== undefined && timingSafeEqual(known, this.digest(token));
  }

  remember(storedHash: string, token: string): void {
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(storedHash, this.digest(token));
  }
}
