import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Principal, principalSchema } from '../principal.js';

/**
 * Set by the gateway on what it forwards to the activator: the caller it verified, as JSON
 * `{"userId": "...", "admin": false}`; absent for an anonymous visitor. The gateway removes it
 * from every incoming request, and the activator removes it before the app sees the request.
 */
export const APP_CALLER_HEADER = 'x-launchpad-caller';

/**
 * Beside APP_CALLER_HEADER: `t=<unix ms>,v1=<hex HMAC-SHA256>` over the time, the method, the
 * path and the caller's JSON, with the secret the gateway and the apps service share
 * (APPS_CALLER_SECRET). The activator believes the caller header only with a valid, recent
 * signature: anything else on its port (an app replica on the same loopback, say) that sends the
 * header without one is nobody.
 */
export const APP_CALLER_SIGNATURE_HEADER = 'x-launchpad-caller-signature';

/** How far apart the gateway's and the activator's clocks (and the trip between them) may be. */
export const APP_CALLER_MAX_SKEW_MS = 60_000;

/** The shortest secret either side accepts. */
export const APP_CALLER_SECRET_MIN_LENGTH = 32;

interface Signed {
  method: string;
  path: string;
  caller: string;
  at: number;
}

const mac = (secret: string, { method, path, caller, at }: Signed) =>
  createHmac('sha256', secret).update(`${at}\n${method.toUpperCase()}\n${path}\n${caller}`).digest();

/** The two headers the gateway sets for a signed-in caller of `method path`. */
export function signCaller(secret: string, caller: Principal, method: string, path: string, now = Date.now()): Record<string, string> {
  const json = JSON.stringify({ userId: caller.userId, admin: caller.admin });
  return {
    [APP_CALLER_HEADER]: json,
    [APP_CALLER_SIGNATURE_HEADER]: `t=${now},v1=${mac(secret, { method, path, caller: json, at: now }).toString('hex')}`,
  };
}

/**
 * The caller the headers name, if they are signed with `secret` for this method and path within
 * the allowed skew; null for anyone else (no header, no or a wrong signature, too old, malformed).
 * Never throws.
 */
export function verifyCaller(
  secret: string,
  headers: { caller: string | string[] | undefined; signature: string | string[] | undefined },
  method: string,
  path: string,
  now = Date.now(),
): Principal | null {
  const { caller, signature } = headers;
  if (typeof caller !== 'string' || typeof signature !== 'string') return null;
  const parts = /^t=(\d{1,16}),v1=([0-9a-f]{64})$/.exec(signature);
  if (!parts) return null;
  const at = Number(parts[1]);
  if (!Number.isSafeInteger(at) || Math.abs(now - at) > APP_CALLER_MAX_SKEW_MS) return null;
  const expected = mac(secret, { method, path, caller, at });
  const given = Buffer.from(parts[2]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const parsed = principalSchema.safeParse(JSON.parse(caller));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
