import type { IncomingMessage } from 'node:http';
import { APP_CALLER_HEADER, APP_CALLER_MAX_SKEW_MS, APP_CALLER_SIGNATURE_HEADER, type AppRoute, type GatewayRequest, type Principal, verifyGatewayRequest } from '@launchpad/contracts';
import { memberRole } from '@launchpad/catalogue';
import type { DataSource } from 'typeorm';
import { type AccessRule, mayOpen, needsMembership } from './app-access.js';
import { NonceWindow } from './nonce-window.js';
import { APP_FAILED, APP_OFF, NO_APP, NOT_FROM_GATEWAY, type Page } from './pages.js';
import type { RouteTable } from './route-table.js';
import type { Target } from './target.js';

const MEMBER_CACHE_MS = 5000;

/**
 * The first step of the chain: is this the gateway's request, which app, and may this caller open
 * it. The gateway signs every request it forwards (a signature over this very request, fresh, with
 * a nonce used once); anything else on this port (an app replica on the same loopback, say) is
 * refused. The caller is whoever the gateway vouches for, or nobody; a project's members are
 * looked up in the catalogue projection and kept for a few seconds.
 */
export class Admission {
  private readonly members = new Map<string, { role: string | null; expires: number }>();
  private readonly nonces = new NonceWindow(APP_CALLER_MAX_SKEW_MS);

  constructor(
    private readonly table: RouteTable,
    private readonly dataSource: DataSource,
    private readonly callerSecret: string,
  ) {}

  /**
   * The app's route, or the page to answer with (404 for an app this caller may not see, as for
   * none). Answered at once (no promise) unless a member's role must be looked up: every request
   * to an app comes through here.
   */
  admit(target: Target, req: IncomingMessage): AppRoute | Page | Promise<AppRoute | Page> {
    const signed = this.fromGateway(req);
    if (!signed) return NOT_FROM_GATEWAY(target.slug);
    const caller = signed.caller;
    const route = this.table.bySlugName(target.slug);
    if (!route) return NO_APP(target.slug);
    const may = this.mayOpen(route, caller);
    return may instanceof Promise ? may.then((yes) => this.admitted(route, yes, target)) : this.admitted(route, may, target);
  }

  private admitted(route: AppRoute, mayOpen: boolean, target: Target): AppRoute | Page {
    if (!mayOpen) return NO_APP(target.slug);
    if (route.status === 'inactive') return APP_OFF(route.slug);
    if (route.status === 'failed') return APP_FAILED(route.slug);
    return route;
  }

  /** The gateway's word on this very request (a valid, fresh, unused signature) and the caller it names; null if it is not the gateway's. */
  private fromGateway(req: IncomingMessage): GatewayRequest | null {
    const signed = verifyGatewayRequest(
      this.callerSecret,
      { caller: req.headers[APP_CALLER_HEADER], signature: req.headers[APP_CALLER_SIGNATURE_HEADER] },
      req.method ?? 'GET',
      req.url ?? '',
    );
    return signed && this.nonces.firstUse(signed.nonce, signed.at) ? signed : null;
  }

  private mayOpen(route: AccessRule & { projectId: string }, caller: Principal | null): boolean | Promise<boolean> {
    if (!caller || !needsMembership(route, caller)) return mayOpen(route, caller, null);
    const key = `${route.projectId}\0${caller.userId}`;
    const cached = this.members.get(key);
    if (cached && cached.expires > Date.now()) return mayOpen(route, caller, cached.role);
    return this.roleOf(key, route.projectId, caller.userId).then((role) => mayOpen(route, caller, role));
  }

  private async roleOf(key: string, projectId: string, userId: string): Promise<string | null> {
    const role = await memberRole(this.dataSource, projectId, userId);
    if (this.members.size > 10_000) this.members.clear();
    this.members.set(key, { role, expires: Date.now() + MEMBER_CACHE_MS });
    return role;
  }
}
