import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Page {
  status: number;
  /** A machine-readable code, as in every problem+json of the platform. */
  code: 'APP_NOT_FOUND' | 'APP_OFF' | 'APP_FAILED' | 'APP_UNAVAILABLE' | 'NOT_FROM_GATEWAY';
  title: string;
  detail: string;
  retryAfterSeconds?: number;
}

export const NO_APP = (slug: string): Page => ({
  status: 404,
  code: 'APP_NOT_FOUND',
  title: 'No app here',
  detail: `There is no app ${slug}, or it is only for signed-in members of its project.`,
});

/** A request the gateway did not sign (or one replayed): apps are reached through the gateway only. */
export const NOT_FROM_GATEWAY = (slug: string): Page => ({
  status: 403,
  code: 'NOT_FROM_GATEWAY',
  title: 'Not through the gateway',
  detail: `Apps are reached through the gateway only, at their share link; this request for ${slug || 'an app'} did not come from it.`,
});

export const APP_OFF = (slug: string): Page => ({
  status: 404,
  code: 'APP_OFF',
  title: 'This app is off',
  detail: `The app ${slug} is switched off. A developer of its project can activate it again.`,
});

export const APP_FAILED = (slug: string): Page => ({
  status: 502,
  code: 'APP_FAILED',
  title: 'This app could not start',
  detail: `The app ${slug} could not start. A developer of its project can read why in the app's status and logs, and activate it again.`,
});

export const APP_UNAVAILABLE = (slug: string, why: string, retryAfterSeconds: number): Page => ({
  status: 503,
  code: 'APP_UNAVAILABLE',
  title: 'This app is starting',
  detail: `The app ${slug} cannot answer yet: ${why}. Try again in a moment.`,
  retryAfterSeconds,
});

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Whether the client would rather read JSON than HTML (an API client, fetch with Accept: application/json). */
export function wantsJson(req: IncomingMessage): boolean {
  const accept = String(req.headers.accept ?? '');
  if (/\bapplication\/(problem\+)?json\b/.test(accept)) return !/\btext\/html\b/.test(accept) || accept.indexOf('json') < accept.indexOf('text/html');
  return false;
}

/** A small page (or problem+json) that says what is going on; never cached. */
export function sendPage(req: IncomingMessage, res: ServerResponse, page: Page): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = page.status;
  res.setHeader('Cache-Control', 'no-store');
  if (page.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(page.retryAfterSeconds));
  if (wantsJson(req)) {
    res.setHeader('Content-Type', 'application/problem+json');
    const type = `https://launchpad.dev/problems/${page.code.toLowerCase().replace(/_/g, '-')}`;
    res.end(JSON.stringify({ type, title: page.title, status: page.status, detail: page.detail, instance: req.url ?? '', code: page.code }));
    return;
  }
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}p{line-height:1.5;color:#555}</style>
</head><body><h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.detail)}</p></body></html>
`);
}
