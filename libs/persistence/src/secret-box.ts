import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Envelope encryption for secrets kept at rest (launcher variables marked secret, users' own
 * secrets): every value gets a fresh data key (AES-256-GCM), and only that data key is encrypted
 * with a key-encryption key from configuration. Rotating the configured key therefore re-wraps 32
 * bytes per value (`rewrap`) and never needs the values themselves to be read back by anyone.
 *
 * A sealed value is `lp1.<key id>.<wrapped data key>.<ciphertext>` (base64url parts, each with its
 * IV and GCM tag), bound to a context (e.g. the row and field it belongs to) as additional
 * authenticated data, so a sealed value copied to another row does not open there.
 */
export interface SecretKey {
  id: string;
  key: Buffer;
}

export enum SecretBoxErrorCode {
  NOT_CONFIGURED = 'NOT_CONFIGURED',
  UNKNOWN_KEY = 'UNKNOWN_KEY',
  CORRUPT = 'CORRUPT',
}

export class SecretBoxError extends Error {
  constructor(
    readonly code: SecretBoxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

const PREFIX = 'lp1';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Parses `SECRETS_ENCRYPTION_KEYS`: comma-separated `<id>:<base64 of 32 bytes>`, the first the one
 * new values are sealed with, the others only for opening values sealed before a rotation.
 * Returns the problem in words, or the keys.
 */
export function parseSecretKeys(value: string | undefined): { keys: SecretKey[] } | { problem: string } {
  if (value === undefined || value.trim() === '') return { keys: [] };
  const keys: SecretKey[] = [];
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const colon = part.indexOf(':');
    const id = colon > 0 ? part.slice(0, colon) : '';
    if (!KEY_ID.test(id)) return { problem: `"${part.slice(0, 12)}…" must be <id>:<base64 key>, the id letters, digits, "_" or "-"` };
    const key = Buffer.from(part.slice(colon + 1), 'base64');
    if (key.length !== 32) return { problem: `key "${id}" must be 32 bytes in base64 (e.g. openssl rand -base64 32), got ${key.length} bytes` };
    if (keys.some((k) => k.id === id)) return { problem: `key id "${id}" appears twice` };
    keys.push({ id, key });
  }
  return { keys };
}

export class SecretBox {
  constructor(private readonly keys: SecretKey[]) {}

  get configured(): boolean {
    return this.keys.length > 0;
  }

  /** The id of the key new values are sealed with. */
  get activeKeyId(): string | null {
    return this.keys[0]?.id ?? null;
  }

  seal(plaintext: string, context: string): string {
    const kek = this.active();
    const dataKey = randomBytes(32);
    const body = gcmSeal(dataKey, Buffer.from(plaintext, 'utf8'), context);
    const wrapped = gcmSeal(kek.key, dataKey, `${kek.id}|${context}`);
    dataKey.fill(0);
    return [PREFIX, kek.id, wrapped, body].join('.');
  }

  open(sealed: string, context: string): string {
    const { kid, wrapped, body } = split(sealed);
    const kek = this.keyById(kid);
    const dataKey = gcmOpen(kek.key, wrapped, `${kid}|${context}`);
    try {
      return gcmOpen(dataKey, body, context).toString('utf8');
    } finally {
      dataKey.fill(0);
    }
  }

  /** True when the value was sealed with a key other than the active one (a rotation is pending). */
  needsRewrap(sealed: string): boolean {
    return split(sealed).kid !== this.active().id;
  }

  /** The same value with its data key wrapped by the active key; the value itself is not re-encrypted. */
  rewrap(sealed: string, context: string): string {
    const { kid, wrapped, body } = split(sealed);
    const kek = this.active();
    if (kid === kek.id) return sealed;
    const dataKey = gcmOpen(this.keyById(kid).key, wrapped, `${kid}|${context}`);
    try {
      return [PREFIX, kek.id, gcmSeal(kek.key, dataKey, `${kek.id}|${context}`), body].join('.');
    } finally {
      dataKey.fill(0);
    }
  }

  private active(): SecretKey {
    const key = this.keys[0];
    if (!key) {
      throw new SecretBoxError(
        SecretBoxErrorCode.NOT_CONFIGURED,
        'secrets cannot be stored: this installation has no SECRETS_ENCRYPTION_KEYS (see docs/configuration.md)',
      );
    }
    return key;
  }

  private keyById(id: string): SecretKey {
    const key = this.keys.find((k) => k.id === id);
    if (!key) throw new SecretBoxError(SecretBoxErrorCode.UNKNOWN_KEY, `a secret was sealed with key "${id}", which SECRETS_ENCRYPTION_KEYS no longer lists`);
    return key;
  }
}

function split(sealed: string): { kid: string; wrapped: string; body: string } {
  const [prefix, kid, wrapped, body, ...rest] = sealed.split('.');
  if (prefix !== PREFIX || !kid || !wrapped || !body || rest.length > 0) throw new SecretBoxError(SecretBoxErrorCode.CORRUPT, 'a stored secret is not in the expected form');
  return { kid, wrapped, body };
}

function gcmSeal(key: Buffer, plaintext: Buffer, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url');
}

function gcmOpen(key: Buffer, part: string, aad: string): Buffer {
  const raw = Buffer.from(part, 'base64url');
  if (raw.length < 28) throw new SecretBoxError(SecretBoxErrorCode.CORRUPT, 'a stored secret is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  } catch {
    throw new SecretBoxError(SecretBoxErrorCode.CORRUPT, 'a stored secret does not open with its key (altered, or moved from another record)');
  }
}
