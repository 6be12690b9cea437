import { chmod, chown, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResourceSpec } from '../runtime.js';
import { limitsReport, prlimitOptions, type ResourceLimitSettings } from './resource-limits.js';
import { resolveCommand } from './resolve-command.js';
import type { WorkloadPaths } from './workload-files.js';
import type { WorkloadNamespace } from './workload-namespace.js';
import type { WorkloadFirewall } from './workload-network.js';
import { endProcessesOf, giveToUser, type UidRange, unsearchableAncestor, type WorkloadUser, WorkloadUsers } from './workload-users.js';

export interface ProcessIsolationOptions {
  /** Every workload gets a uid of its own from this range (and the same gid). Needs root. */
  uidRange: UidRange;
  /**
   * Each workload's programs (and its git) run in a mount namespace of their own with these paths
   * covered; see containWorkloads, which probes that the machine allows it. Absent: not hidden.
   */
  namespace?: WorkloadNamespace | null;
  /**
   * Keeps each workload's port its own (guardPort before its program starts, releasePort once it
   * has ended); absent when the firewall could not be installed (containWorkloads said so).
   */
  firewall?: WorkloadFirewall | null;
}

/** The part of a logger the sandbox uses (a pino logger, or the runtime's). */
interface SandboxLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export class SandboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxError';
  }
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const GIT_SSH_SETTINGS = ['GIT_SSH_COMMAND', 'GIT_SSH_VARIANT'] as const;

/**
 * Decides how workloads are held apart from the service and from each other, for a service that
 * runs the process runtime. `multiUser` is the operator's statement that users of this
 * installation do not trust each other: then workloads must get uids of their own, which needs
 * root, and a service that cannot give them refuses to start rather than run them as itself.
 */
export function processIsolationFor(input: { multiUser: boolean; uidRange: UidRange; uid?: number }): ProcessIsolationOptions | null {
  const uid = input.uid ?? process.getuid?.() ?? -1;
  if (uid === 0) return { uidRange: input.uidRange };
  if (input.multiUser) {
    throw new SandboxError(
      `RUNTIME_MULTI_USER is true, but this service runs as uid ${uid}, not root, so it cannot give each workload a user of its own: ` +
        'run it as root (workloads then run as uids from RUNTIME_UID_RANGE), use the kubernetes runtime, or set RUNTIME_MULTI_USER=false for a single-user installation',
    );
  }
  return null;
}

/**
 * What the process runtime does to contain a workload: with isolation (the service runs as
 * root), the workload runs as a uid of its own, in a work directory and home only it owns (0700),
 * under directories it may pass but not list (0711), while the runtime's state, logs and uid
 * claims stay root's (0600/0700); without, it runs as the service's user. Either way its
 * environment is built from nothing (programEnvironment), and `prlimit` holds it to its class.
 */
export class WorkloadSandbox {
  readonly users: WorkloadUsers | null;
  private prlimit: string | null = null;
  private ready: Promise<void> | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly isolation: ProcessIsolationOptions | null,
    private readonly limits: ResourceLimitSettings,
    private readonly logger: SandboxLogger,
    /** Development: local repositories (owned by someone else) may be cloned. */
    private readonly allowFileRepositories = false,
  ) {
    this.users = isolation ? new WorkloadUsers(dataDir, isolation.uidRange) : null;
  }

  get isolated(): boolean {
    return this.isolation !== null;
  }

  /** The mount namespace workloads run in, or null (not isolated, or the machine does not allow it). */
  get namespace(): WorkloadNamespace | null {
    return this.isolation?.namespace ?? null;
  }

  /** Makes the data directory and says, once, how workloads are contained here. */
  init(): Promise<void> {
    this.ready ??= this.initOnce();
    return this.ready;
  }

  private async initOnce(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    this.prlimit = await resolveCommand('prlimit', process.env.PATH ?? DEFAULT_PATH, '/');
    const limits = limitsReport(this.prlimit !== null, this.isolated);
    if (this.isolation) {
      if (process.getuid?.() !== 0) throw new SandboxError('workload isolation needs the service to run as root');
      // Workloads pass through to their own directories; none may list the others' ids.
      await chmod(this.dataDir, 0o711);
      if (this.allowFileRepositories) {
        // git refuses to clone a local repository another user owns unless told it is safe, and
        // only believes that from a configuration the cloning user cannot write: this file is ours.
        await writeFile(this.localClonesConfig, '[safe]\n\tdirectory = *\n', { mode: 0o644 });
        await chmod(this.localClonesConfig, 0o644);
      }
      const { first, last } = this.isolation.uidRange;
      this.logger.info({ dataDir: this.dataDir, uidRange: `${first}-${last}`, ...limits }, 'workloads run isolated: each as a uid of its own, in a work directory only it can read');
    } else {
      this.logger.warn(
        { dataDir: this.dataDir, uid: process.getuid?.(), ...limits },
        "single-user installation: workloads run as this service's own user and could read its files and reach Postgres, NATS and the services; run the service as root to give each workload a user of its own, kept off the platform's ports and sockets",
      );
    }
  }

  /** The workload's directories, owned as they should be; the user it runs as (null: ours). */
  async prepare(id: string, paths: WorkloadPaths): Promise<WorkloadUser | null> {
    await this.init();
    if (!this.users) {
      await mkdir(paths.work, { recursive: true });
      await mkdir(paths.home, { recursive: true });
      return null;
    }
    await mkdir(paths.root, { recursive: true, mode: 0o711 });
    await chmod(paths.root, 0o711);
    const blocked = await unsearchableAncestor(paths.root);
    if (blocked) {
      throw new SandboxError(`the workload's user cannot reach its work directory: ${blocked} is closed to other users (make it searchable, e.g. chmod o+x ${blocked}, or move RUNTIME_DATA_DIR)`);
    }
    const user = await this.users.userFor(id);
    await giveToUser(paths.work, user);
    await giveToUser(paths.home, user);
    return user;
  }

  /**
   * The exit-code file is written by the wrapper shell, which runs as the workload's user: made
   * empty beforehand, owned by it. (The workload can thus write its own exit status, which says
   * nothing about anyone else.)
   */
  async prepareExitFile(path: string, user: WorkloadUser | null): Promise<void> {
    await rm(path, { force: true });
    if (!user) return;
    const file = await open(path, 'wx', 0o600);
    await file.close();
    await chown(path, user.uid, user.gid);
  }

  /** What goes in front of the program's command line: `prlimit <limits> --`, or nothing. */
  launchPrefix(resources: ResourceSpec): string[] {
    if (!this.prlimit) return [];
    return [this.prlimit, ...prlimitOptions(resources, this.limits, this.isolated), '--'];
  }

  /**
   * git's environment: none of ours (no credentials, no configuration of the service but how to
   * run ssh). A
   * single-user installation keeps the user's HOME and ssh agent, so their own keys still work.
   */
  gitEnvironment(home: string): Record<string, string> {
    const env: Record<string, string> = { PATH: process.env.PATH ?? DEFAULT_PATH, LANG: process.env.LANG ?? 'C.UTF-8', GIT_TERMINAL_PROMPT: '0' };
    // How to reach ssh remotes is the operator's configuration of the service, not a secret (a key
    // it names is the service's and stays unreadable to a workload's git): these alone pass.
    for (const name of GIT_SSH_SETTINGS) {
      const value = process.env[name];
      if (value) env[name] = value;
    }
    if (this.isolated) {
      env.HOME = home;
      if (this.allowFileRepositories) env.GIT_CONFIG_GLOBAL = this.localClonesConfig;
    } else {
      if (process.env.HOME) env.HOME = process.env.HOME;
      if (process.env.SSH_AUTH_SOCK) env.SSH_AUTH_SOCK = process.env.SSH_AUTH_SOCK;
    }
    return env;
  }

  private get localClonesConfig(): string {
    return join(this.dataDir, '.gitconfig-local-clones');
  }

  /**
   * Before the program starts: only its own uid may connect to its port, of all workloads (the
   * gateway and the services are outside the ranges). Throws, saying why, when it cannot: a
   * workload whose port anyone could reach is not started on a machine that promised otherwise.
   */
  async guardPort(port: number, user: WorkloadUser | null): Promise<void> {
    const firewall = this.isolation?.firewall;
    if (!firewall || !user) return;
    try {
      await firewall.guardPort(port, user.uid);
    } catch (error) {
      throw new SandboxError(`could not keep other workloads off its port ${port}: ${(error as Error).message}`);
    }
  }

  /** Once the program has ended; never throws (a port left guarded only refuses other workloads). */
  async releasePort(port: number, uid: number): Promise<void> {
    const firewall = this.isolation?.firewall;
    if (!firewall) return;
    await firewall.releasePort(port, uid).catch((error: unknown) => this.logger.warn({ port, uid, err: error }, `could not release workload port ${port} in nftables: other workloads stay refused on it`));
  }

  /**
   * Once a workload's program has ended (stopped, exited, timed out, rolled): whatever it left
   * running as the workload's uid goes too (see endProcessesOf). Never throws.
   */
  async endLeftovers(uid: number | null | undefined): Promise<void> {
    if (!this.users || uid == null) return;
    const ended = await endProcessesOf(uid).catch(() => false);
    if (!ended) this.logger.warn({ uid }, `processes of workload uid ${uid} could not all be ended: they keep running as that uid`);
  }

  async release(id: string): Promise<void> {
    await this.users?.release(id);
  }
}
