import { blockedPorts, firewallScript, departedOwners, guardScript, mergedPorts, ownersOfPort, releaseScript, platformEndpoints, portsInChain, portsListenedOn, socketDirectories } from './workload-network.js';

describe('the platform endpoints workloads are kept from', () => {
  it("are Postgres's and each NATS server's host and port, with their defaults, and the ports listed", () => {
    expect(
      platformEndpoints({ databaseUrl: 'postgres://sessions:pw@127.0.0.1/launchpad', natsUrl: 'nats://127.0.0.1:4223, nats.internal', ports: [3002, 0] }),
    ).toEqual([
      { what: 'Postgres', host: '127.0.0.1', port: 5432 },
      { what: 'NATS', host: '127.0.0.1', port: 4223 },
      { what: 'NATS', host: 'nats.internal', port: 4222 },
      { what: 'platform port', host: '127.0.0.1', port: 3002 },
    ]);
  });

  it('take a Postgres reached by its unix socket as a directory to hide, and its port still', () => {
    const url = 'postgres://postgres@localhost/launchpad?host=/srv/pg-socket';
    expect(platformEndpoints({ databaseUrl: url })).toEqual([{ what: 'Postgres', host: 'localhost', port: 5432 }]);
    expect(socketDirectories(url)).toEqual(['/srv/pg-socket']);
    expect(socketDirectories('postgres://postgres@[::1]:6543/x')).toEqual([]);
    expect(platformEndpoints({ databaseUrl: 'postgres://postgres@[::1]:6543/x' })).toEqual([{ what: 'Postgres', host: '::1', port: 6543 }]);
  });

  it('block each port once, with the addresses of other machines it is served on (names looked up, loopback left to the local rules)', async () => {
    const resolve = async (host: string) => (host === 'nats.internal' ? ['10.0.0.7', 'fd00::7'] : Promise.reject(new Error('NXDOMAIN')));
    const ports = await blockedPorts(
      [
        { what: 'Postgres', host: 'localhost', port: 5432 },
        { what: 'Postgres', host: '192.0.2.10', port: 5432 },
        { what: 'NATS', host: 'nats.internal', port: 4222 },
        { what: 'NATS', host: 'gone.internal', port: 4222 },
        { what: 'platform port', host: '127.0.0.1', port: 3002 },
      ],
      resolve,
    );
    expect(ports).toEqual([
      { port: 3002, remote: [] },
      { port: 4222, remote: ['10.0.0.7', 'fd00::7'] },
      { port: 5432, remote: ['192.0.2.10'] },
    ]);
  });
});

describe('firewallScript', () => {
  const range = { first: 100000, last: 199999 };

  it("replaces this range's own chain in the shared table, in one transaction, rejecting its uids on the blocked ports of every local address", () => {
    const script = firewallScript(range, [
      { port: 4222, remote: ['fd00::7'] },
      { port: 5432, remote: ['192.0.2.10'] },
    ]);
    const chain = 'inet launchpad_runtime workloads_100000_199999';
    const guard = (destination: string) => [
      `add rule ${chain} meta skuid 100000-199999 ${destination} tcp dport @workload_ports tcp dport . meta skuid != @workload_port_owners reject with tcp reset comment "launchpad: workloads may not reach each other"`,
      `add rule ${chain} meta skuid 0 meta skgid 100000-199999 ${destination} tcp dport @workload_ports reject with tcp reset comment "launchpad: workloads may not reach each other"`,
      // Answers from a workload port by anyone but its owner (a squatter's SYN-ACK) go nowhere.
      `add rule ${chain} meta skuid 100000-199999 ${destination} tcp sport @workload_ports tcp sport . meta skuid != @workload_port_owners drop comment "launchpad: a workload may not serve on another's port"`,
    ];
    const platform = (who: string) => [
      `add rule ${chain} ${who} ip daddr 127.0.0.0/8 tcp dport { 4222, 5432 } reject with tcp reset comment "launchpad: workloads may not reach the platform"`,
      `add rule ${chain} ${who} ip6 daddr ::1 tcp dport { 4222, 5432 } reject with tcp reset comment "launchpad: workloads may not reach the platform"`,
      `add rule ${chain} ${who} fib daddr type local tcp dport { 4222, 5432 } reject with tcp reset comment "launchpad: workloads may not reach the platform"`,
      `add rule ${chain} ${who} ip6 daddr fd00::7 tcp dport { 4222 } reject with tcp reset comment "launchpad: workloads may not reach the platform"`,
      `add rule ${chain} ${who} ip daddr 192.0.2.10 tcp dport { 5432 } reject with tcp reset comment "launchpad: workloads may not reach the platform"`,
    ];
    expect(script.split('\n').filter(Boolean)).toEqual([
      'add table inet launchpad_runtime',
      'add set inet launchpad_runtime workload_ports { typeof tcp dport; }',
      'add set inet launchpad_runtime workload_port_owners { typeof tcp dport . meta skuid; }',
      `add chain ${chain} { type filter hook output priority 0; policy accept; }`,
      `flush chain ${chain}`,
      // The workload's programs (its uid), and what runs as root for it (its group: rclone).
      ...platform('meta skuid 100000-199999'),
      ...platform('meta skgid 100000-199999'),
      ...guard('ip daddr 127.0.0.0/8'),
      ...guard('ip6 daddr ::1'),
      ...guard('fib daddr type local'),
    ]);
    // Never the whole table, nor another range's chain: the other service's rules stay.
    expect(script).not.toMatch(/delete|flush table|flush ruleset/);
  });

  it('keeps only the guard of workload ports when no platform port is to be blocked', () => {
    const rules = firewallScript({ first: 5000, last: 5000 }, []).split('\n').filter((line) => line.startsWith('add rule'));
    expect(rules).toHaveLength(9);
    expect(rules.every((rule) => / meta skgid 5000 | meta skuid 5000 /.test(rule) && rule.includes('@workload_ports'))).toBe(true);
  });
});

describe('a workload port made one uid\'s own', () => {
  it('replaces whoever held the port before, and adds it and its owner in the same transaction', () => {
    expect(guardScript(41000, 383005, [383001]).split('\n').filter((l) => !l.startsWith('add table') && !l.startsWith('add set'))).toEqual([
      'delete element inet launchpad_runtime workload_port_owners { 41000 . 383001 }',
      'add element inet launchpad_runtime workload_ports { 41000 }',
      'add element inet launchpad_runtime workload_port_owners { 41000 . 383005 }',
      '',
    ]);
  });

  it('is given back only by its owner: the owner element is deleted first, so the transaction fails as a whole for anyone else', () => {
    expect(releaseScript(41000, 383005)).toBe(
      'delete element inet launchpad_runtime workload_port_owners { 41000 . 383005 }\ndelete element inet launchpad_runtime workload_ports { 41000 }\n',
    );
  });

  it('reads the owners of a port from nft\'s JSON listing, and nothing from anything else', () => {
    const listing = JSON.stringify({
      nftables: [{ metainfo: { version: '1.0.6' } }, { set: { name: 'workload_port_owners', elem: [{ concat: [41000, 383001] }, { concat: [41001, 383002] }, { concat: [41000, 383009] }] } }],
    });
    expect(ownersOfPort(listing, 41000)).toEqual([383001, 383009]);
    expect(ownersOfPort(listing, 42000)).toEqual([]);
    expect(ownersOfPort('', 41000)).toEqual([]);
    expect(ownersOfPort('{"nftables":[{"set":{"name":"workload_port_owners"}}]}', 41000)).toEqual([]);
  });
});

describe('the ports a chain keeps across replicas on one machine', () => {
  const range = { first: 100000, last: 199999 };

  it('reads the ports of a chain nft lists, one or a set', () => {
    expect(portsInChain('meta skuid 100000-199999 ip daddr 127.0.0.0/8 tcp dport { 3002, 4222, 5432 } reject with tcp reset')).toEqual([3002, 4222, 5432]);
    expect(portsInChain('meta skuid 100000-199999 ip daddr 127.0.0.0/8 tcp dport 5432 reject with tcp reset')).toEqual([5432]);
    expect(portsInChain('')).toEqual([]);
  });

  it("counts listeners of anyone but the range's workloads", () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:0BBA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0',
      '   1: 0100007F:A000 00000000:0000 0A 00000000:00000000 00:00000000 00000000 100123        0 2 1 0 100 0 0 10 0',
      '   2: 0100007F:0BBB 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0',
    ].join('\n');
    const tcp6 = ['  sl  local_address ...', '   0: 00000000000000000000000000000000:0BBC 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   998 0 4'].join('\n');
    expect([...portsListenedOn([tcp, tcp6], range)].sort()).toEqual([3002, 3004]);
  });

  it("keeps another replica's port while it is listened on, and drops it once it is not", () => {
    const ours = [{ port: 3002, remote: [] }, { port: 5432, remote: ['192.0.2.10'] }];
    expect(mergedPorts(ours, [3002, 3012, 3099, 5432], new Set([3002, 3012]))).toEqual([{ port: 3002, remote: [] }, { port: 3012, remote: [] }, { port: 5432, remote: ['192.0.2.10'] }]);
    expect(mergedPorts(ours, [3012], new Set())).toEqual(ours);
  });
});

describe('the ports of workloads that ended unwatched', () => {
  const range = { first: 383000, last: 383999 };
  it('are those of this range whose uid runs no process any more; other ranges and live uids keep theirs', () => {
    const owners = [
      { port: 41000, uid: 383001 },
      { port: 41001, uid: 383002 },
      { port: 41002, uid: 384001 },
    ];
    expect(departedOwners(owners, range, new Set([0, 383002]))).toEqual([{ port: 41000, uid: 383001 }]);
    expect(departedOwners(owners, range, new Set([383001, 383002]))).toEqual([]);
  });
});
