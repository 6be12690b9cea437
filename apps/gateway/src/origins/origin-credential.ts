import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '@launchpad/contracts';
import { stringifySetCookie } from 'cookie';
import { decodeJwt } from 'jose';

/** The cookie names on a session's and an app's origin (host-only: each origin has its own). */
export const SESSION_COOKIE = 'launchpad_session';
export const APP_COOKIE = 'launchpad_app';

/**
 * The name a credential cookie has on an origin: over https, with the `__Host-` prefix, which a
 * browser accepts only as set by that origin itself (Secure, Path=/, no Domain). Sessions and apps
 * are sibling origins of one site, so a page of Eve's session could otherwise plant a cookie of
 * the plain name with Domain=<sessions domain> on Alice's (cookie tossing): to sign her in as Eve
 * or out of her own session. Over plain http (development) no prefix is possible.
 */
export function credentialCookieName(name: typeof SESSION_COOKIE | typeof APP_COOKIE, secure: boolean): string {
  return secure ? `__Host-${name}` : name;
}

export type CredentialScope = { kind: 'session'; id: string } | { kind: 'app'; slug: string };

interface Claims {
  /** 's' + session id or 'a' + app slug: the one origin it opens. */
  t: string;
  u: string;
  a: boolean;
  /** Expiry, unix seconds. */
  e: number;
  /** Random: two sign-ins never make the same credential. */
  n: string;
}

/** How many credentials' checked claims are kept (a few MB at most). */
const VERIFIED_KEPT = 10_000;

const scopeKey = (scope: CredentialScope) => (scope.kind === 'session' ? `s${scope.id}` : `a${scope.slug}`);

/**
 * What a session's or app's cookie holds instead of the API token: a credential the gateway
 * signed, good for one session or app and one user, until it expires (at most the API token's own
 * expiry, and ORIGIN_COOKIE_TTL_MS). The API refuses it (it is not a JWT), another origin refuses
 * it (the scope is checked against the Host), and it gives no more than the user's access at the
 * moment of each request: every request is authorised again (the session's owner, the app's
 * members), so a session deleted or a member removed is no longer reachable with it.
 */
export class OriginCredentials {
  /** Imported once as a key object (a Buffer is imported again by every createHmac: every proxied request checks a cookie). */
  private readonly key: KeyObject;
  private readonly verified = new Map<string, Claims>();

  constructor(secret: string, private readonly ttlMs: number) {
    this.key = createSecretKey(createHmac('sha256', secret).update('launchpad origin credential v1').digest());
  }

  issue(scope: CredentialScope, caller: Principal, tokenExpiresAt: number | undefined, now = Date.now()): { value: string; expiresAt: number } {
    const ttlEnd = Math.floor((now + this.ttlMs) / 1000);
    const e = tokenExpiresAt ? Math.min(tokenExpiresAt, ttlEnd) : ttlEnd;
    const claims: Claims = { t: scopeKey(scope), u: caller.userId, a: caller.admin, e, n: randomBytes(12).toString('base64url') };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { value: `v1.${body}.${this.mac(body)}`, expiresAt: e };
  }

  /** The user it was issued to, if it is ours, for this scope and not expired; null otherwise. Never throws. */
  verify(value: string | undefined, scope: CredentialScope, now = Date.now()): Principal | null {
    if (!value) return null;
    const claims = this.verified.get(value) ?? this.check(value);
    if (!claims || claims.t !== scopeKey(scope) || claims.e * 1000 <= now) return null;
    return { userId: claims.u, admin: claims.a === true };
  }

  /**
   * The claims of a credential whose MAC is ours, kept by value: a page sends the same cookie with
   * every request, and checking its MAC again was a tenth of the session proxy's CPU. Only what
   * was signed here is kept (a forged value is checked, and refused, every time); the scope and
   * the expiry are checked on every use, by `verify`.
   */
  private check(value: string): Claims | null {
    const match = /^v1\.([A-Za-z0-9_-]{1,2000})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!match) return null;
    const expected = Buffer.from(this.mac(match[1]!));
    const given = Buffer.from(match[2]!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    let claims: Claims;
    try {
      claims = JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8')) as Claims;
    } catch {
      return null;
    }
    if (typeof claims?.t !== 'string' || typeof claims.u !== 'string' || !claims.u || typeof claims.e !== 'number') return null;
    // Oldest first out: a bounded memory whatever the number of visitors.
    if (this.verified.size >= VERIFIED_KEPT) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(value, claims);
    return claims;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

/**
 * The cookie: host-only (no Domain: no other session or app, nor the API, gets it), the whole
 * origin (Path=/), HttpOnly, SameSite=Lax, Secure over https, gone when the credential expires.
 */
export function credentialCookie(name: string, credential: { value: string; expiresAt: number }, secure: boolean, now = Date.now()): string {
  return stringifySetCookie(name, credential.value, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure,
    maxAge: Math.max(0, credential.expiresAt - Math.floor(now / 1000)),
  });
}

/** The API token's own expiry, unix seconds: a credential never outlives what it was traded for. */
export function tokenExpiry(token: string): number | undefined {
  try {
    return decodeJwt(token).exp;
  } catch {
    return undefined;
  }
}
