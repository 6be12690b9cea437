import type { IncomingMessage } from 'node:http';
import { APP_CALLER_HEADER, APP_CALLER_SIGNATURE_HEADER, type AppRoute } from '@launchpad/contracts';

export interface Target {
  slug: string;
  /** What follows `/a/<slug>`: '' or '?...' (no slash yet), or a path starting with '/'. */
  rest: string;
}

/** Whether a request is for an app (`/a/<slug>...`), rather than for the service itself. */
export const isAppTraffic = (url: string | undefined) => url !== undefined && url.startsWith('/a/');

/** What a slug can be (see apps/slug.ts); nothing is decoded, so nothing can fail to decode. */
const SLUG = /^[a-z0-9-]{1,100}$/;

/** The app and the rest of the path of `/a/<slug>...`; null for anything else, a malformed slug included (404). */
export function parseTarget(url: string): Target | null {
  const match = /^\/a\/([^/?#]+)(.*)$/s.exec(url);
  if (!match || !SLUG.test(match[1]!)) return null;
  return { slug: match[1]!, rest: match[2] ?? '' };
}

/**
 * The app sees neither the gateway's word on the caller nor the `/a/<slug>` it is addressed by
 * here: every app is served at the root of its own origin (`<slug>.<APPS_DOMAIN>`).
 */
export function rewriteForApp(req: IncomingMessage, _route: AppRoute, target: Target): void {
  delete req.headers[APP_CALLER_HEADER];
  delete req.headers[APP_CALLER_SIGNATURE_HEADER];
  req.url = target.rest.startsWith('/') ? target.rest : `/${target.rest}`;
}
