import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { KeyedMutex } from './keyed-mutex.js';
import { processUids } from './process-identity.js';
import type { UidRange } from './workload-users.js';

/** The nftables table every process runtime on this machine keeps its rules in, a chain per uid range. */
export const FIREWALL_TABLE = 'launchpad_runtime';

/** A TCP port of the platform that workloads must not reach, and the addresses off this machine it is served on too. */
export interface BlockedPort {
  port: number;
  /** Addresses of other machines (the platform's Postgres or NATS elsewhere); this machine's own are always covered. */
  remote: string[];
}

/** Where the platform listens, from the service's own configuration. */
export interface PlatformEndpoints {
  /** DATABASE_URL. */
  databaseUrl?: string;
  /** NATS_URL (comma-separated servers, with or without nats://). */
  natsUrl?: string;
  /** Further ports of this machine, e.g. the services' own HTTP ports (RUNTIME_BLOCKED_PORTS). */
  ports?: readonly number[];
}

/** A host and port the platform serves on, and what it is, for the start-up log. */
export interface Endpoint {
  what: string;
  host: string;
  port: number;
}

/**
 * The endpoints named by the service's URLs. A unix socket directory a Postgres URL names
 * (`?host=/run/postgresql`) is hidden by the mount namespace instead (see socketDirectories).
 */
export function platformEndpoints(input: PlatformEndpoints): Endpoint[] {
  const endpoints: Endpoint[] = [];
  if (input.databaseUrl) {
    // Blocked even when the service itself uses the socket: the same server may listen on TCP too.
    const url = new URL(input.databaseUrl);
    endpoints.push({ what: 'Postgres', host: unbracket(url.hostname) || '127.0.0.1', port: Number(url.port || 5432) });
  }
  for (const server of (input.natsUrl ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const url = new URL(/^[a-z]+:\/\//.test(server) ? server : `nats://${server}`);
    endpoints.push({ what: 'NATS', host: unbracket(url.hostname) || '127.0.0.1', port: Number(url.port || 4222) });
  }
  for (const port of (input.ports ?? []).filter((p) => p > 0)) endpoints.push({ what: 'platform port', host: '127.0.0.1', port });
  return endpoints;
}

/** A Postgres unix socket directory the service's DATABASE_URL names (`?host=/dir`), to hide from workloads. */
export function socketDirectories(databaseUrl: string | undefined): string[] {
  if (!databaseUrl) return [];
  const host = new URL(databaseUrl).searchParams.get('host');
  return host?.startsWith('/') ? [host] : [];
}

const unbracket = (host: string) => host.replace(/^\[(.*)\]$/, '$1');

const isLoopback = (address: string) => /^127\./.test(address) || address === '::1' || address === 'localhost';

/**
 * The ports to block, with the addresses of other machines each is served on. A host that is a
 * name is looked up once, now: should its address change later, only a restart follows it (this
 * machine's own addresses are matched by kind, so they need no lookup).
 */
export async function blockedPorts(endpoints: readonly Endpoint[], resolve: (host: string) => Promise<string[]> = lookupAll): Promise<BlockedPort[]> {
  const byPort = new Map<number, Set<string>>();
  for (const endpoint of endpoints) {
    const remote = byPort.get(endpoint.port) ?? new Set<string>();
    byPort.set(endpoint.port, remote);
    if (isLoopback(endpoint.host)) continue;
    const addresses = isIP(endpoint.host) ? [endpoint.host] : await resolve(endpoint.host).catch(() => [] as string[]);
    for (const address of addresses) if (!isLoopback(address)) remote.add(address);
  }
  return [...byPort].sort(([a], [b]) => a - b).map(([port, remote]) => ({ port, remote: [...remote].sort() }));
}

async function lookupAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true })).map((entry) => entry.address);
}

export const firewallChain = (range: UidRange) => `workloads_${range.first}_${range.last}`;

/**
 * The ports workloads serve on, each with the one uid that owns it. Shared by every uid range's
 * chain in the table (a session of the sessions service's range must not reach an app replica of
 * the apps service's), and changed one element at a time as workloads start and stop.
 */
export const WORKLOAD_PORTS_SET = 'workload_ports';
export const PORT_OWNERS_SET = 'workload_port_owners';

function setDefinitions(): string[] {
  return [
    `add table inet ${FIREWALL_TABLE}`,
    `add set inet ${FIREWALL_TABLE} ${WORKLOAD_PORTS_SET} { typeof tcp dport; }`,
    `add set inet ${FIREWALL_TABLE} ${PORT_OWNERS_SET} { typeof tcp dport . meta skuid; }`,
  ];
}

/** Every address of this machine a connection to a local port may name. */
const LOCAL_DESTINATIONS = ['ip daddr 127.0.0.0/8', 'ip6 daddr ::1', 'fib daddr type local'];

/**
 * One nft transaction that makes this uid range's chain say exactly what it is given: TCP from
 * the range to a blocked port on loopback, on any address of this machine (`fib daddr type
 * local`: a service listening on 0.0.0.0 is reachable on the machine's LAN address too), or on
 * the remote addresses listed, is answered with a reset (the workload sees "connection
 * refused"); so is TCP to another workload's port (the shared sets: a workload's port is its
 * own, whether its program checks who calls or not). Everything else passes: a Jupyter server
 * and its kernels talk over loopback on ports of their own. The table is shared and only ever
 * added to, and a chain belongs to one uid range, so the sessions and apps services (disjoint
 * ranges) never replace each other's rules; a restart replaces its own (see mergedPorts for
 * replicas on one machine). Atomic: no moment without rules.
 */
export function firewallScript(range: UidRange, ports: readonly BlockedPort[]): string {
  const chain = `inet ${FIREWALL_TABLE} ${firewallChain(range)}`;
  const lines = [...setDefinitions(), `add chain ${chain} { type filter hook output priority 0; policy accept; }`, `flush chain ${chain}`];
  const ids = range.first === range.last ? `${range.first}` : `${range.first}-${range.last}`;
  // A workload's programs run as its uid; what the runtime runs for it as root (rclone, which
  // must open /dev/fuse) runs in its group: both are held off the platform.
  const platformRules = (who: string) => {
    const reject = (match: string, list: readonly number[]) =>
      `add rule ${chain} ${who} ${match} tcp dport { ${list.join(', ')} } reject with tcp reset comment "launchpad: workloads may not reach the platform"`;
    const all = ports.map((p) => p.port);
    if (all.length > 0) for (const destination of LOCAL_DESTINATIONS) lines.push(reject(destination, all));
    for (const { port, remote } of ports) {
      for (const address of remote) lines.push(reject(`${isIP(address) === 6 ? 'ip6' : 'ip'} daddr ${address}`, [port]));
    }
  };
  platformRules(`meta skuid ${ids}`);
  platformRules(`meta skgid ${ids}`);
  for (const destination of LOCAL_DESTINATIONS) {
    lines.push(
      `add rule ${chain} meta skuid ${ids} ${destination} tcp dport @${WORKLOAD_PORTS_SET} tcp dport . meta skuid != @${PORT_OWNERS_SET} reject with tcp reset comment "launchpad: workloads may not reach each other"`,
      // A root helper in a workload's group has no business with any workload's port.
      `add rule ${chain} meta skuid 0 meta skgid ${ids} ${destination} tcp dport @${WORKLOAD_PORTS_SET} reject with tcp reset comment "launchpad: workloads may not reach each other"`,
      // Nor may a workload answer from another's port: were it to listen there first (the port is
      // on the owner's command line for all to read, and its program takes a moment to bind), the
      // readiness probe and the gateway, who connect by port alone, would be talking to it, and
      // hand it the owner's traffic and token. Its SYN-ACK is dropped, so no connection is made.
      `add rule ${chain} meta skuid ${ids} ${destination} tcp sport @${WORKLOAD_PORTS_SET} tcp sport . meta skuid != @${PORT_OWNERS_SET} drop comment "launchpad: a workload may not serve on another's port"`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Makes `port` the workload `uid`'s own, in one transaction: whoever held it before (a workload
 * gone while its runtime was down) no longer does, so a port picked again is never shared.
 */
export function guardScript(port: number, uid: number, previousOwners: readonly number[]): string {
  const lines = setDefinitions();
  for (const owner of previousOwners) lines.push(`delete element inet ${FIREWALL_TABLE} ${PORT_OWNERS_SET} { ${port} . ${owner} }`);
  lines.push(`add element inet ${FIREWALL_TABLE} ${WORKLOAD_PORTS_SET} { ${port} }`, `add element inet ${FIREWALL_TABLE} ${PORT_OWNERS_SET} { ${port} . ${uid} }`);
  return `${lines.join('\n')}\n`;
}

/**
 * Gives the port back, in one transaction that fails as a whole (changing nothing) when `uid`
 * no longer owns it: another workload that has it since keeps it guarded.
 */
export function releaseScript(port: number, uid: number): string {
  return `delete element inet ${FIREWALL_TABLE} ${PORT_OWNERS_SET} { ${port} . ${uid} }\ndelete element inet ${FIREWALL_TABLE} ${WORKLOAD_PORTS_SET} { ${port} }\n`;
}

/** Every (port, uid) of `nft -j list set ... workload_port_owners`; nothing from anything else. */
export function portOwners(listingJson: string): { port: number; uid: number }[] {
  let parsed: { nftables?: { set?: { elem?: unknown[] } }[] };
  try {
    parsed = JSON.parse(listingJson);
  } catch {
    return [];
  }
  const owners: { port: number; uid: number }[] = [];
  for (const entry of parsed.nftables ?? []) {
    for (const element of entry.set?.elem ?? []) {
      const [port, uid] = ((element as { concat?: unknown[] }).concat ?? []) as unknown[];
      if (typeof port === 'number' && typeof uid === 'number') owners.push({ port, uid });
    }
  }
  return owners;
}

/** The uids that own `port` now. */
export function ownersOfPort(listingJson: string, port: number): number[] {
  return portOwners(listingJson).filter((o) => o.port === port).map((o) => o.uid);
}

/**
 * The ports of this range that no process holds any more: their workloads ended while no runtime
 * watched (a machine's service killed, a test's runtime dropped). A uid with a process left may
 * still be starting to listen, so it keeps its port.
 */
export function departedOwners(owners: readonly { port: number; uid: number }[], range: UidRange, liveUids: ReadonlySet<number>): { port: number; uid: number }[] {
  return owners.filter((o) => o.uid >= range.first && o.uid <= range.last && !liveUids.has(o.uid));
}

/** Installs the rules that keep a uid range away from the platform's ports and from other workloads' (a side effect, swapped in unit tests). */
export interface WorkloadFirewall {
  /** Replaces this range's rules with these; throws, saying why, when it cannot. */
  install(range: UidRange, ports: readonly BlockedPort[]): Promise<void>;
  /** From now until releasePort, only `uid` (and anyone outside the workload ranges: the gateway) connects to `port`; throws when it cannot. */
  guardPort(port: number, uid: number): Promise<void>;
  /** `port` is no longer `uid`'s; nothing when it no longer was. */
  releasePort(port: number, uid: number): Promise<void>;
}

/** The ports a chain's loopback rule blocks now, from `nft list chain` (none when there is no such rule). */
export function portsInChain(listing: string): number[] {
  const match = /ip daddr 127\.0\.0\.0\/8 tcp dport (?:\{ ([\d, ]+) \}|(\d+))/.exec(listing);
  if (!match) return [];
  return (match[1] ?? match[2] ?? '').split(',').map((p) => Number(p.trim())).filter((p) => Number.isInteger(p) && p > 0);
}

/**
 * The TCP ports something listens on, from /proc/net/tcp and tcp6, by a socket whose owner is not
 * one of the range's workloads (so a service, not a session's own server or kernel).
 */
export function portsListenedOn(procNetTcp: readonly string[], range: UidRange): Set<number> {
  const ports = new Set<number>();
  for (const table of procNetTcp) {
    for (const line of table.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [, local, , state, , , , uid] = fields;
      if (state !== '0A' || !local || uid === undefined) continue;
      const owner = Number(uid);
      if (owner >= range.first && owner <= range.last) continue;
      ports.add(parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
    }
  }
  return ports;
}

/**
 * What this range's chain should block: ours, and those the chain holds already that a process
 * outside the range still listens on (another replica of this service on this machine, with its
 * own port, installed them); a port whose listener is gone is dropped, so ports of services long
 * stopped do not pile up and block a workload's own traffic one day.
 */
export function mergedPorts(ours: readonly BlockedPort[], inChain: readonly number[], listened: ReadonlySet<number>): BlockedPort[] {
  const kept = inChain.filter((port) => listened.has(port) && !ours.some((p) => p.port === port)).map((port) => ({ port, remote: [] }));
  return [...ours, ...kept].sort((a, b) => a.port - b.port);
}

/** The firewall, as nftables (`nft`, Debian's nftables package); needs root (CAP_NET_ADMIN). */
export class NftablesFirewall implements WorkloadFirewall {
  constructor(private readonly nft = 'nft') {}

  async install(range: UidRange, ports: readonly BlockedPort[]): Promise<void> {
    const listing = await this.run(['list', 'chain', 'inet', FIREWALL_TABLE, firewallChain(range)]).catch(() => '');
    const tables = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((path) => readFile(path, 'utf8').catch(() => '')));
    await this.run(['-f', '-'], firewallScript(range, mergedPorts(ports, portsInChain(listing), portsListenedOn(tables, range))));
    await this.releaseDeparted(range);
  }

  /** Gives back the ports of this range's workloads that no longer run (see departedOwners). */
  async releaseDeparted(range: UidRange, liveUids?: ReadonlySet<number>): Promise<number> {
    const owners = portOwners(await this.run(['-j', 'list', 'set', 'inet', FIREWALL_TABLE, PORT_OWNERS_SET]).catch(() => ''));
    const departed = departedOwners(owners, range, liveUids ?? (await processUids()));
    for (const { port, uid } of departed) await this.releasePort(port, uid);
    return departed.length;
  }

  // One change of a port at a time, in the order asked: a workload started again on the port its
  // last run had (same uid) must not have its new guard undone by the old run's release landing after it.
  private readonly ports = new KeyedMutex();

  guardPort(port: number, uid: number): Promise<void> {
    return this.ports.run(String(port), async () => {
      const listing = await this.run(['-j', 'list', 'set', 'inet', FIREWALL_TABLE, PORT_OWNERS_SET]).catch(() => '');
      await this.run(['-f', '-'], guardScript(port, uid, ownersOfPort(listing, port).filter((owner) => owner !== uid)));
    });
  }

  releasePort(port: number, uid: number): Promise<void> {
    return this.ports.run(String(port), async () => {
      try {
        await this.run(['-f', '-'], releaseScript(port, uid));
      } catch (error) {
        // Someone else's now (or never guarded): the transaction changed nothing, as it should.
        if (!/No such file or directory/.test((error as Error).message)) throw error;
      }
    });
  }

  private run(args: string[], input?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(this.nft, args, { timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } }, (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        reject(new Error(missing ? 'nft is not installed (apt-get install nftables)' : `nft failed: ${stderr.trim() || error.message}`));
      });
      // nft may exit (with its error) before it has read everything: a broken pipe is not ours to throw.
      child.stdin?.on('error', () => undefined);
      if (input === undefined) child.stdin?.end();
      else child.stdin?.end(input);
    });
  }
}

/** Removes a range's chain (tests; an operator uses `nft delete table inet launchpad_runtime`). */
export function removeFirewallChain(range: UidRange, nft = 'nft'): Promise<void> {
  return new Promise((resolve) => execFile(nft, ['delete', 'chain', 'inet', FIREWALL_TABLE, firewallChain(range)], () => resolve()));
}
