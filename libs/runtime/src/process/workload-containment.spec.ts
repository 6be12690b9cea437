import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containWorkloads, type ContainmentInput } from './workload-containment.js';
import type { BlockedPort, WorkloadFirewall } from './workload-network.js';
import type { WorkloadNamespace } from './workload-namespace.js';
import { SandboxError } from './workload-sandbox.js';
import type { UidRange } from './workload-users.js';

class RecordingFirewall implements WorkloadFirewall {
  installed: { range: UidRange; ports: readonly BlockedPort[] }[] = [];
  constructor(private readonly failure: string | null = null) {}
  async install(range: UidRange, ports: readonly BlockedPort[]): Promise<void> {
    if (this.failure) throw new Error(this.failure);
    this.installed.push({ range, ports });
  }
  async guardPort(): Promise<void> {}
  async releasePort(): Promise<void> {}
}

describe('containWorkloads', () => {
  const range = { first: 100000, last: 199999 };
  const tools = { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv' };
  let dataDir: string;
  let lines: { level: string; msg: string }[];
  const logger = {
    info: (_: object, msg: string) => lines.push({ level: 'info', msg }),
    warn: (_: object, msg: string) => lines.push({ level: 'warn', msg }),
    error: (_: object, msg: string) => lines.push({ level: 'error', msg }),
  };
  const probe = async (hiddenPaths: readonly string[]): Promise<WorkloadNamespace> => ({ tools, hiddenPaths });
  const noNamespaces = async (): Promise<WorkloadNamespace> => Promise.reject(new Error('unshare --mount could not mount: Operation not permitted'));
  const input = (over: Partial<ContainmentInput>): ContainmentInput => ({
    multiUser: false,
    uidRange: range,
    platform: { databaseUrl: 'postgres://postgres@127.0.0.1:5432/launchpad?host=/srv/pg', natsUrl: 'nats://127.0.0.1:4222', ports: [3002] },
    hiddenPaths: ['/srv/keys'],
    dataDir,
    logger,
    uid: 0,
    probeNamespace: probe,
    ...over,
  });

  beforeEach(() => {
    lines = [];
    dataDir = mkdtempSync(join(tmpdir(), 'lp-contain-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it("as root: installs the range's rules for Postgres, NATS and the listed ports, and hides Postgres's socket directories and the paths listed", async () => {
    const firewall = new RecordingFirewall();
    const isolation = await containWorkloads(input({ firewall }));
    expect(firewall.installed).toEqual([{ range, ports: [{ port: 3002, remote: [] }, { port: 4222, remote: [] }, { port: 5432, remote: [] }] }]);
    // The installed firewall goes to the runtime, which guards each workload's port with it.
    expect(isolation).toEqual({ uidRange: range, firewall, namespace: { tools, hiddenPaths: ['/run/postgresql', '/var/run/postgresql', '/tmp/.s.PGSQL.5432', '/srv/pg', '/srv/keys'] } });
    expect(lines.filter((l) => l.level !== 'info')).toEqual([]);
  });

  it('says once, and plainly, what stays open when nft or namespaces are not to be had', async () => {
    const isolation = await containWorkloads(input({ firewall: new RecordingFirewall('nft is not installed (apt-get install nftables)'), probeNamespace: noNamespaces, hiddenPaths: [dataDir] }));
    // No firewall to guard workload ports with: none is handed on.
    expect(isolation).toEqual({ uidRange: range, namespace: null, firewall: null });
    const errors = lines.filter((l) => l.level === 'error').map((l) => l.msg);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^NOT enforced: workloads cannot be kept off the platform's ports \(nft is not installed \(apt-get install nftables\)\); workloads can connect to Postgres at 127.0.0.1:5432/);
    expect(errors[0]).toContain('NATS at 127.0.0.1:4222');
    expect(errors[1]).toMatch(/^NOT enforced: workloads cannot be given a mount namespace of their own .*workloads can use the unix sockets and files in /);
    expect(errors[1]).toContain(dataDir);
  });

  it('needs no namespace where there is nothing to hide (a container without a Postgres socket)', async () => {
    const isolation = await containWorkloads(
      input({ multiUser: true, firewall: new RecordingFirewall(), probeNamespace: noNamespaces, exists: () => false }),
    );
    expect(isolation).toMatchObject({ namespace: null });
    // Not refused, but said: without a namespace of their own, workloads see each other's processes.
    expect(lines.filter((l) => l.level !== 'info')).toEqual([{ level: 'warn', msg: expect.stringContaining("each workload can read the others' command lines in /proc") }]);
  });

  it('refuses a multi-user installation that cannot enforce either', async () => {
    await expect(containWorkloads(input({ multiUser: true, firewall: new RecordingFirewall('nft failed: Operation not permitted') }))).rejects.toThrow(
      /RUNTIME_MULTI_USER is true, but workloads cannot be kept off the platform's ports: nft failed/,
    );
    await expect(containWorkloads(input({ multiUser: true, firewall: new RecordingFirewall(), probeNamespace: noNamespaces, hiddenPaths: [dataDir] }))).rejects.toThrow(SandboxError);
  });

  it('does nothing for a single-user installation (not root): the sandbox says it is single-user', async () => {
    const firewall = new RecordingFirewall();
    expect(await containWorkloads(input({ uid: 1000, firewall }))).toBeNull();
    expect(firewall.installed).toEqual([]);
  });
});
