import { createHmac, createSecretKey, type KeyObject, randomUUID, timingSafeEqual } from 'node:crypto';
import { type Principal, principalSchema } from '../principal.js';

/**
 * Set by the gateway on what it forwards to the activator: the caller it verified, as JSON
 * `{"userId": "...", "admin": false}`; absent for an anonymous visitor. The gateway removes it
 * from every incoming request, and the activator removes it before the app sees the request.
 */
export const APP_CALLER_HEADER = 'x-launchpad-caller';

/**
 * Beside APP_CALLER_HEADER: `t=<unix ms>,n=<random nonce>,v1=<hex HMAC-SHA256>` over the time,
 * the nonce, the method, the path and the caller's JSON (`null` for an anonymous visitor), with
 * the secret the gateway and the apps service share (APPS_CALLER_SECRET). The gateway signs every
 * request it forwards, so the activator can tell the gateway's requests from anything else on its
 * port (an app replica on the same loopback, say), which it refuses; and it takes each nonce once
 * within the short window, so a captured request cannot be replayed.
 */
export const APP_CALLER_SIGNATURE_HEADER = 'x-launchpad-caller-signature';

/** How far apart the gateway's and the activator's clocks (and the trip between them) may be; also how long nonces are remembered. */
export const APP_CALLER_MAX_SKEW_MS = 30_000;

/** The shortest secret either side accepts. */
export const APP_CALLER_SECRET_MIN_LENGTH = 32;

interface Signed {
  method: string;
  path: string;
  caller: string;
  at: number;
  nonce: string;
}

let imported: { secret: string; key: KeyObject } | undefined;

/**
 * The secret as a key, imported once: createHmac with a string imports it again on every call,
 * twice per share-link request. A process signs or checks with one secret, so one is kept.
 */
function keyOf(secret: string): KeyObject {
  if (imported?.secret !== secret) imported = { secret, key: createSecretKey(Buffer.from(secret, 'utf8')) };
  return imported.key;
}

const mac = (secret: string, { method, path, caller, at, nonce }: Signed) =>
  createHmac('sha256', keyOf(secret)).update(`${at}\n${nonce}\n${method.toUpperCase()}\n${path}\n${caller}`).digest();

/** The two headers the gateway sets on `method path` for a caller (null: an anonymous visitor). */
export function signCaller(
  secret: string,
  caller: Principal | null,
  method: string,
  path: string,
  now = Date.now(),
  // randomUUID draws from a pool node refills in batches (randomBytes goes to OpenSSL on every call: 6 % of the
  // gateway's CPU on the share-link path); its 122 random bits, hex, without the dashes.
  nonce = randomUUID().replaceAll('-', ''),
): Record<string, string> {
  const json = caller ? JSON.stringify({ userId: caller.userId, admin: caller.admin }) : 'null';
  return {
    [APP_CALLER_HEADER]: json,
    [APP_CALLER_SIGNATURE_HEADER]: `t=${now},n=${nonce},v1=${mac(secret, { method, path, caller: json, at: now, nonce }).toString('hex')}`,
  };
}

export interface GatewayRequest {
  /** Who the gateway says is asking; null for an anonymous visitor. */
  caller: Principal | null;
  nonce: string;
  at: number;
}

/**
 * Whether the gateway signed this request (this method and path, within the allowed skew), and
 * for whom; null for anything else (no header, no or a wrong signature, too old, malformed).
 * Never throws. Replays are the caller's to catch, by nonce (see NonceWindow in the activator).
 */
export function verifyGatewayRequest(
  secret: string,
  headers: { caller: string | string[] | undefined; signature: string | string[] | undefined },
  method: string,
  path: string,
  now = Date.now(),
): GatewayRequest | null {
  const { caller, signature } = headers;
  if (typeof caller !== 'string' || typeof signature !== 'string') return null;
  const parts = /^t=(\d{1,16}),n=([0-9a-f]{16,64}),v1=([0-9a-f]{64})$/.exec(signature);
  if (!parts) return null;
  const at = Number(parts[1]);
  const nonce = parts[2]!;
  if (!Number.isSafeInteger(at) || Math.abs(now - at) > APP_CALLER_MAX_SKEW_MS) return null;
  const expected = mac(secret, { method, path, caller, at, nonce });
  const given = Buffer.from(parts[3]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  if (caller === 'null') return { caller: null, nonce, at };
  try {
    const parsed = principalSchema.safeParse(JSON.parse(caller));
    return parsed.success ? { caller: parsed.data, nonce, at } : null;
  } catch {
    return null;
  }
}

/** The caller the headers name, if the gateway signed them for this request; null for anyone else, anonymous included. */
export function verifyCaller(
  secret: string,
  headers: { caller: string | string[] | undefined; signature: string | string[] | undefined },
  method: string,
  path: string,
  now = Date.now(),
): Principal | null {
  return verifyGatewayRequest(secret, headers, method, path, now)?.caller ?? null;
}
