import type { AppRoute } from '@launchpad/contracts';

export type RouteChange = { route: AppRoute; previous: AppRoute | undefined } | { deleted: string };

/**
 * How long an endpoint that refused a connection stays out of rotation. A replica that stopped is
 * soon out of the route anyway; one that refused once (a full backlog, a restart on the same
 * port) is tried again after this, not left out until the route happens to change.
 */
export const DOWN_FOR_MS = 3000;

/**
 * The activator's view of every app's routing, by slug and by id. A copy replaces the one held
 * only if it is at least as new (`version`), so broadcasts and database reads may arrive in any order.
 */
export class RouteTable {
  private readonly byId = new Map<string, AppRoute>();
  private readonly bySlug = new Map<string, AppRoute>();
  /** Endpoints that refused a connection, and until when they are left out (or until the route next changes). */
  private readonly down = new Map<string, Map<string, number>>();

  constructor(
    private readonly onChange: (change: RouteChange) => void = () => undefined,
    private readonly clock: () => number = Date.now,
  ) {}

  apply(route: AppRoute): void {
    if (route.deleted) return this.delete(route.appId);
    const previous = this.byId.get(route.appId);
    if (previous && previous.version > route.version) return;
    if (previous && previous.slug !== route.slug) this.bySlug.delete(previous.slug);
    this.byId.set(route.appId, route);
    this.bySlug.set(route.slug, route);
    if (!previous || previous.version !== route.version) this.down.delete(route.appId);
    this.onChange({ route, previous });
  }

  /** Everything the database has: applies each, and forgets apps it no longer has. */
  replaceAll(routes: readonly AppRoute[]): void {
    const present = new Set(routes.map((r) => r.appId));
    for (const id of [...this.byId.keys()]) if (!present.has(id)) this.delete(id);
    for (const route of routes) this.apply(route);
  }

  bySlugName(slug: string): AppRoute | undefined {
    return this.bySlug.get(slug);
  }

  byAppId(appId: string): AppRoute | undefined {
    return this.byId.get(appId);
  }

  /** The ready replicas of an app, but those found down in the last DOWN_FOR_MS (and since its route last changed). */
  endpoints(appId: string): string[] {
    const route = this.byId.get(appId);
    if (!route || route.status !== 'active') return [];
    const down = this.down.get(appId);
    if (!down) return route.endpoints;
    const now = this.clock();
    for (const [endpoint, until] of down) if (until <= now) down.delete(endpoint);
    if (down.size === 0) this.down.delete(appId);
    return route.endpoints.filter((e) => !down.has(e));
  }

  markDown(appId: string, endpoint: string): void {
    let marks = this.down.get(appId);
    if (!marks) {
      marks = new Map();
      this.down.set(appId, marks);
    }
    marks.set(endpoint, this.clock() + DOWN_FOR_MS);
  }

  private delete(appId: string): void {
    const previous = this.byId.get(appId);
    if (!previous) return;
    this.byId.delete(appId);
    if (this.bySlug.get(previous.slug)?.appId === appId) this.bySlug.delete(previous.slug);
    this.down.delete(appId);
    this.onChange({ deleted: appId });
  }
}
