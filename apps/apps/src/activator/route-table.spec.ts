import type { AppRoute } from '@launchpad/contracts';
import { DOWN_FOR_MS, type RouteChange, RouteTable } from './route-table.js';

const route = (over: Partial<AppRoute> = {}): AppRoute => ({
  appId: '11111111-2222-4333-8444-555555555555',
  version: 1,
  slug: 'lab-study-dashboard',
  projectId: '42',
  visibility: 'public',
  status: 'active',
  access: 'public',
  endpoints: [],
  stripPrefix: true,
  capacity: null,
  deleted: false,
  ...over,
});

describe('RouteTable', () => {
  it('keeps the newest copy of a route, whatever order copies arrive in', () => {
    const changes: RouteChange[] = [];
    const table = new RouteTable((c) => changes.push(c));
    table.apply(route({ version: 3, endpoints: ['http://127.0.0.1:1'] }));
    table.apply(route({ version: 2, endpoints: [] }));
    expect(table.endpoints(route().appId)).toEqual(['http://127.0.0.1:1']);
    expect(changes).toHaveLength(1);
    table.apply(route({ version: 3, endpoints: ['http://127.0.0.1:1'] }));
    expect(table.bySlugName('lab-study-dashboard')?.version).toBe(3);
  });

  it('routes nowhere for an app that is not active', () => {
    const table = new RouteTable();
    table.apply(route({ status: 'failed', endpoints: ['http://127.0.0.1:1'] }));
    expect(table.endpoints(route().appId)).toEqual([]);
  });

  it('leaves out a replica found down until the route changes', () => {
    const table = new RouteTable();
    table.apply(route({ endpoints: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] }));
    table.markDown(route().appId, 'http://127.0.0.1:1');
    expect(table.endpoints(route().appId)).toEqual(['http://127.0.0.1:2']);
    table.apply(route({ version: 2, endpoints: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] }));
    expect(table.endpoints(route().appId)).toHaveLength(2);
  });

  it('takes a replica that refused once back into rotation after a few seconds, the route unchanged', () => {
    let now = 1_000_000;
    const table = new RouteTable(undefined, () => now);
    table.apply(route({ endpoints: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] }));
    table.markDown(route().appId, 'http://127.0.0.1:1');
    now += DOWN_FOR_MS - 1;
    expect(table.endpoints(route().appId)).toEqual(['http://127.0.0.1:2']);
    now += 1;
    expect(table.endpoints(route().appId)).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    // The only replica, refused: none for now, and it again later.
    table.apply(route({ version: 2, endpoints: ['http://127.0.0.1:1'] }));
    table.markDown(route().appId, 'http://127.0.0.1:1');
    expect(table.endpoints(route().appId)).toEqual([]);
    now += DOWN_FOR_MS;
    expect(table.endpoints(route().appId)).toEqual(['http://127.0.0.1:1']);
  });

  it('forgets deleted apps, by broadcast or because the database no longer has them', () => {
    const changes: RouteChange[] = [];
    const table = new RouteTable((c) => changes.push(c));
    table.apply(route());
    table.apply(route({ deleted: true, version: Number.MAX_SAFE_INTEGER }));
    expect(table.bySlugName('lab-study-dashboard')).toBeUndefined();
    table.apply(route({ appId: '21111111-2222-4333-8444-555555555555', slug: 'other' }));
    table.replaceAll([]);
    expect(table.bySlugName('other')).toBeUndefined();
    expect(changes.filter((c) => 'deleted' in c)).toHaveLength(2);
  });
});
