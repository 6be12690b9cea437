import type { IncomingMessage } from 'node:http';
import { stringifySetCookie } from 'cookie';
import { decodeJwt } from 'jose';

/**
 * The credential cookie a `?token=` link is traded for: HttpOnly, SameSite=Lax, scoped to one
 * session's or app's path, expiring with the token.
 */
export function credentialCookie(name: string, token: string, path: string, secure: boolean): string {
  let exp: number | undefined;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    exp = undefined;
  }
  return stringifySetCookie(name, token, {
    path,
    httpOnly: true,
    sameSite: 'lax',
    secure,
    ...(exp ? { maxAge: Math.max(0, exp - Math.floor(Date.now() / 1000)) } : {}),
  });
}

/** Where to send the browser after the trade: the same place without the token, never outside `base`. */
export function redirectWithoutToken(url: URL, tokenParam: string, base: string): string {
  url.searchParams.delete(tokenParam);
  const path = url.pathname.startsWith(base) ? url.pathname : base;
  return `${path}${url.search}`;
}

/**
 * What a user's program (a session, an app) receives carries none of the caller's credentials:
 * no Authorization, and not our cookie. Its own cookies pass untouched: they are removed from
 * textually, since parsing and re-serialising would re-encode their values.
 */
export function stripCredentials(req: IncomingMessage, cookieName: string): void {
  delete req.headers.authorization;
  if (!req.headers.cookie) return;
  const remaining = req.headers.cookie
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !c.startsWith(`${cookieName}=`));
  if (remaining.length > 0) req.headers.cookie = remaining.join('; ');
  else delete req.headers.cookie;
}
