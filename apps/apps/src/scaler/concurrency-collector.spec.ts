import type { NatsConnection } from '@nats-io/nats-core';
import type { AppConcurrencyReport } from '@launchpad/contracts';
import type { AppsConfig } from '../config.js';
import type { Leadership } from '../replicas/leadership.js';
import { ConcurrencyCollector } from './concurrency-collector.js';

const APP = '11111111-2222-4333-8444-555555555555';
/** The default ACTIVATOR_REPORT_INTERVAL_MS. */
const INTERVAL = 1000;
const T0 = 1_760_000_000_000;

function collector() {
  const listeners: ((isLeader: boolean) => void)[] = [];
  const leadership = { onChange: (l: (isLeader: boolean) => void) => listeners.push(l) } as unknown as Leadership;
  const config = { activator: { reportIntervalMs: INTERVAL } } as AppsConfig;
  const c = new ConcurrencyCollector({} as NatsConnection, config, leadership);
  return { c, becomeLeader: (isLeader: boolean) => listeners.forEach((l) => l(isLeader)) };
}

const report = (activator: string, at: number, current: number): AppConcurrencyReport => ({
  activator,
  at: new Date(at).toISOString(),
  apps: [{ appId: APP, average: current, current, queued: 0, requests: current, lastRequestAt: new Date(at).toISOString() }],
});

describe('ConcurrencyCollector', () => {
  it('counts a wake as a request waiting for a few report intervals, then lets the app go idle on a quiet platform', () => {
    const { c } = collector();
    c.woken(APP, T0);
    // Nobody reports at all (the request was answered between two reports, or its activator died).
    expect(c.observe(APP, T0 + 100)).toEqual({ average: 0, current: 1, lastRequestAt: T0 });
    expect(c.observe(APP, T0 + 3 * INTERVAL - 1).current).toBe(1);
    expect(c.observe(APP, T0 + 3 * INTERVAL + 1)).toEqual({ average: 0, current: 0, lastRequestAt: null });
    expect(c.observe(APP, T0 + 3_600_000).current).toBe(0);
    expect(c.size.wakes).toBe(0);
  });

  it('sums what the activators report, forgetting an activator that stopped reporting', () => {
    const { c } = collector();
    c.record(report('a', T0, 2), T0);
    c.record(report('b', T0 + 500, 3), T0 + 500);
    expect(c.observe(APP, T0 + 600)).toMatchObject({ average: 5, current: 5 });
    // a falls silent; b goes on.
    c.record(report('b', T0 + 3200, 1), T0 + 3200);
    expect(c.observe(APP, T0 + 3200)).toMatchObject({ current: 1 });
    expect(c.size.reports).toBe(1);
  });

  it('forgets old wakes and dead activators on a follower too, which never observes', () => {
    const { c } = collector();
    for (let i = 0; i < 100; i++) c.woken(`${APP.slice(0, -3)}${String(i).padStart(3, '0')}`, T0);
    c.record(report('dead', T0, 1), T0);
    c.woken(APP, T0 + 10 * INTERVAL);
    c.record(report('alive', T0 + 10 * INTERVAL, 1), T0 + 10 * INTERVAL);
    expect(c.size).toEqual({ reports: 1, wakes: 1 });
  });

  it('adds up what every activator has in flight on a replica, forgetting dead activators', () => {
    const { c } = collector();
    const r1 = 'http://127.0.0.1:4001';
    c.record({ ...report('a', T0, 1), outstanding: { [r1]: 2 } }, T0);
    c.record({ ...report('b', T0, 1), outstanding: { [r1]: 1, 'http://127.0.0.1:4002': 4 } }, T0);
    // An activator of an older release says nothing about replicas.
    c.record(report('c', T0, 1), T0);
    expect(c.outstanding(r1, T0 + 10)).toBe(3);
    expect(c.outstanding('http://127.0.0.1:4003', T0 + 10)).toBe(0);
    c.record({ ...report('b', T0 + 2500, 0), outstanding: {} }, T0 + 2500);
    expect(c.outstanding(r1, T0 + 3 * INTERVAL + 1)).toBe(0);
  });

  it('starts afresh when leadership changes: a new leader does not inherit what it heard as a follower', () => {
    const { c, becomeLeader } = collector();
    c.woken(APP, T0);
    c.record(report('a', T0, 4), T0);
    becomeLeader(true);
    expect(c.size).toEqual({ reports: 0, wakes: 0 });
    expect(c.observe(APP, T0 + 10)).toEqual({ average: 0, current: 0, lastRequestAt: null });
  });
});
