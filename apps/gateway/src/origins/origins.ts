import { uuidSchema } from '@launchpad/contracts';
import type { GatewayConfig } from '../config.js';

/** What a request's `Host` names: the API, one session, one app, or a name under our domains that is none of them. */
export type HostTarget =
  | { kind: 'api' }
  | { kind: 'session'; id: string }
  | { kind: 'app'; slug: string }
  | { kind: 'unknown'; under: 'session' | 'app' };

/** What an app's share-link name can be (see apps/slug.ts): one DNS label. */
export const APP_SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Each session and each app is its own origin, `<id>.<SESSIONS_DOMAIN>` and
 * `<slug>.<APPS_DOMAIN>`, with the scheme and port of the gateway's public URL. A page of one
 * cannot read another's (nor the API's) responses, cookies or service workers: the browser's
 * same-origin policy is the boundary, which paths on one origin never were.
 */
export class Origins {
  private readonly scheme: string;
  private readonly port: string;
  readonly secure: boolean;

  constructor(private readonly config: Pick<GatewayConfig, 'http' | 'origins'>) {
    const url = new URL(config.http.publicUrl);
    this.scheme = url.protocol;
    this.port = url.port ? `:${url.port}` : '';
    this.secure = url.protocol === 'https:';
  }

  session(id: string): string {
    return `${this.scheme}//${id}.${this.config.origins.sessionsDomain}${this.port}`;
  }

  app(slug: string): string {
    return `${this.scheme}//${slug}.${this.config.origins.appsDomain}${this.port}`;
  }

  /** Which origin a `Host` header names. Anything outside our two domains is the API (it may have several names). */
  classify(host: string | undefined): HostTarget {
    const name = hostnameOf(host);
    const label = (domain: string) => (name.endsWith(`.${domain}`) ? name.slice(0, -domain.length - 1) : undefined);
    const session = label(this.config.origins.sessionsDomain);
    if (session !== undefined) return uuidSchema.safeParse(session).success ? { kind: 'session', id: session } : { kind: 'unknown', under: 'session' };
    if (name === this.config.origins.sessionsDomain) return { kind: 'unknown', under: 'session' };
    const app = label(this.config.origins.appsDomain);
    if (app !== undefined) return APP_SLUG.test(app) ? { kind: 'app', slug: app } : { kind: 'unknown', under: 'app' };
    if (name === this.config.origins.appsDomain) return { kind: 'unknown', under: 'app' };
    return { kind: 'api' };
  }
}

/** `Host: X.Sessions.localhost:8080` → `x.sessions.localhost`; IPv6 literals keep their brackets. */
export function hostnameOf(host: string | undefined): string {
  const value = (host ?? '').trim().toLowerCase();
  const withoutPort = value.startsWith('[') ? value.slice(0, value.indexOf(']') + 1) : value.replace(/:\d*$/, '');
  return withoutPort.replace(/\.$/, '');
}
