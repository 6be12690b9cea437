import { blockedPorts, firewallScript, mergedPorts, platformEndpoints, portsInChain, portsListenedOn, socketDirectories } from './workload-network.js';

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
    expect(script.split('\n').filter(Boolean)).toEqual([
      'add table inet launchpad_runtime',
      `add chain ${chain} { type filter hook output priority 0; policy accept; }`,
      `flush chain ${chain}`,
      `add rule ${chain} meta skuid 100000-199999 ip daddr 127.0.0.0/8 tcp dport { 4222, 5432 } reject with tcp reset comment "launchpad: workloads may not reach the platform"`,
      `add rule ${chain} meta skuid 100000-199999 ip6 daddr ::1 tcp dport { 4222, 5432 } reject with tcp reset comment "launchpad: workloads may not reach the platform"`,
      `add rule ${chain} meta skuid 100000-199999 fib daddr type local tcp dport { 4222, 5432 } reject with tcp reset comment "launchpad: workloads may not reach the platform"`,
      `add rule ${chain} meta skuid 100000-199999 ip6 daddr fd00::7 tcp dport { 4222 } reject with tcp reset comment "launchpad: workloads may not reach the platform"`,
      `add rule ${chain} meta skuid 100000-199999 ip daddr 192.0.2.10 tcp dport { 5432 } reject with tcp reset comment "launchpad: workloads may not reach the platform"`,
    ]);
    // Never the whole table, nor another range's chain: the other service's rules stay.
    expect(script).not.toMatch(/delete|flush table|flush ruleset/);
  });

  it('leaves an empty chain when nothing is to be blocked', () => {
    expect(firewallScript({ first: 5000, last: 5000 }, []).split('\n').filter(Boolean)).toHaveLength(3);
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
