import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { allowedGitProtocols, DEFAULT_REPOSITORY_URL_POLICY, type RepositoryUrlPolicy, repositoryUrlProblem } from '@launchpad/contracts';
import type { AppWorkloadSpec, AppWorkloadStatus, LogLine, LogOptions, Runtime, WorkloadEvent, WorkloadReason, WorkloadSpec, WorkloadStatus } from '../runtime.js';
import { RuntimeError, RuntimeErrorCode } from '../runtime-error.js';
import { dataDirSpecHashKey, workloadSpecHash } from '../spec-hash.js';
import { assertWorkloadName } from '../workload-name.js';
import { ProcessApps, type ProcessAppsOptions } from './process-apps.js';
import { CloneError, cloneRepositories, killLeftoverClone } from './clone-repositories.js';
import { expandVariables } from './expand-variables.js';
import {
  commandNotFoundMessage,
  EMPTY_COMMAND_MESSAGE,
  type ProgramExit,
  readinessTimeoutMessage,
} from './failure-messages.js';
import { directoryUsage } from './disk-usage.js';
import { freeLocalPort } from './free-port.js';
import { removeSecretFiles, secretsDirOf, writeSecretFiles } from './secret-files.js';
import { MountError, mountStorage, unmountStorage } from './storage-mounts.js';
import { WorkloadLocks } from './workload-locks.js';
import { tailFile } from './log-tail.js';
import {
  isProcessRunning,
  killProcessGroup,
  type ProcessIdentity,
  signalProcessGroup,
} from './process-identity.js';
import { programEnvironment } from './program-environment.js';
import { probeDelayMs, probeHttp } from './readiness-probe.js';
import { readinessPath } from './readiness-path.js';
import { resolveCommand } from './resolve-command.js';
import type { ResourceLimitSettings } from './resource-limits.js';
import { type SpawnedProgram, spawnProgram } from './spawn-program.js';
import { type ProcessIsolationOptions, SandboxError, WorkloadSandbox } from './workload-sandbox.js';
import {
  isValidWorkloadId,
  readExitCode,
  readWorkloadState,
  type WorkloadPaths,
  workloadPaths,
  type WorkloadState,
  writeWorkloadState,
} from './workload-files.js';
import { exitedState, failedState, isActivePhase, isRunningPhase, statusOf } from './workload-status.js';
import { adoptWorkload, type AdoptionHost, identityOf, LINES_IN_MESSAGES, listWorkloadIds, liveInstances, observeWorkload, OWN_START_TIME } from './workload-adoption.js';
import { WorkloadLogs } from './workload-logs.js';

/** The part of a pino logger this driver uses; a pino logger can be passed as it is. */
export interface RuntimeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ProcessRuntimeOptions {
  /** Holds one directory per workload: state.json, work/, home/, output.log, exit-code. */
  dataDir: string;
  /** How long a started program has to answer on its default URL before it is stopped and failed. Default 120 000. */
  readinessTimeoutMs?: number;
  /** How often readiness is polled while starting. Default 250. */
  readinessIntervalMs?: number;
  /** How long a program has to exit after SIGTERM before its process group is sent SIGKILL. Default 5 000. */
  stopGraceMs?: number;
  logger?: RuntimeLogger;
  /** How apps (ensureApp) are run: drain, restarts of crashed replicas, leadership. */
  apps?: Omit<ProcessAppsOptions, 'logger'>;
  /**
   * A uid of its own for every workload (the service must run as root); see processIsolationFor.
   * Absent or null: workloads run as our own user, and the runtime says it is single-user.
   */
  isolation?: ProcessIsolationOptions | null;
  /** Limits besides the resource class's memory (prlimit). */
  limits?: ResourceLimitSettings;
  /** Which git remotes may be cloned. Default: https and ssh to any host, no file://. */
  repositoryPolicy?: RepositoryUrlPolicy;
  /** The key of workloads' spec hashes (RUNTIME_SPEC_HASH_KEY); default: one made and kept in dataDir. */
  specHashKey?: Buffer;
}

/** @deprecated The driver throws RuntimeError; these names stay for callers written before it. */
export { RuntimeError as ProcessRuntimeError, RuntimeErrorCode as ProcessRuntimeErrorCode };

const NO_LOGGER: RuntimeLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** While probing our own starting child, its state file and /proc are read at most this often. */
const FULL_CHECK_MS = 100;

/** How often a ready (or adopted) program is checked for having exited. */
const EXIT_POLL_INTERVAL_MS = 1_000;

/** What this instance does for one run of one workload: prepare it, start it, watch it. */
interface Run {
  id: string;
  runId: string;
  /** Cancels a preparation under way (a clone is killed, nothing is spawned). */
  abort: AbortController;
  /** Settles when the preparation is over (at once for an adopted workload). */
  settled: Promise<void>;
  timer: NodeJS.Timeout | null;
  /** Our own child, while we are its parent; null for an adopted program. */
  program: SpawnedProgram | null;
  childExit: ProgramExit | null;
  ticking: boolean;
  disposed: boolean;
  /** Readiness probes so far: the first come quickly, since most programs start in well under a second. */
  probes: number;
  /** The state as last read from its file and checked against /proc, and when. */
  checked: { state: WorkloadState; at: number } | null;
}

/**
 * The `process` driver: each workload is a program started on this machine, in a process group
 * of its own, on a free local port, in a work directory under `dataDir` (repositories cloned with
 * `git`). The files under `dataDir` are the only record: a new instance over the same directory
 * (our service restarted, even after SIGKILL) adopts the programs that still run and never starts
 * them twice, and reports the ones that died meanwhile.
 *
 * Not enforced here: `resources` (no CPU, memory, GPU or disk limits; that is the Kubernetes
 * driver's job), `image` (the program runs with what is installed on this machine) and `port`
 * (a free port is picked and given as PORT and LAUNCHPAD_PORT). `workingDirectory` is mapped to
 * `<dataDir>/<id>/work`, given as LAUNCHPAD_WORK_DIR.
 */
export class ProcessRuntime implements Runtime {
  readonly name = 'process' as const;
  /** A program that exits is `failed` (reason `Exited`) until the next ensureRunning: its owner decides whether to start it again. */
  readonly restartsCrashedPrograms = false;

  private readonly dataDir: string;
  private readonly readinessTimeoutMs: number;
  private readonly readinessIntervalMs: number;
  private readonly stopGraceMs: number;
  private readonly logger: RuntimeLogger;
  private readonly instance = randomUUID();
  private readonly runs = new Map<string, Run>();
  private readonly locks: WorkloadLocks;
  private readonly listeners = new Set<(event: WorkloadEvent) => void>();
  private readonly adoption: Promise<void>;
  private readonly apps: ProcessApps;
  private readonly sandbox: WorkloadSandbox;
  private readonly repositoryPolicy: RepositoryUrlPolicy;
  private readonly specHashKey: Buffer;
  private readonly output: WorkloadLogs;
  private closed = false;

  constructor(options: ProcessRuntimeOptions) {
    this.dataDir = resolve(options.dataDir);
    this.readinessTimeoutMs = options.readinessTimeoutMs ?? 120_000;
    this.readinessIntervalMs = options.readinessIntervalMs ?? 250;
    this.stopGraceMs = options.stopGraceMs ?? 5_000;
    this.logger = options.logger ?? NO_LOGGER;
    this.sandbox = new WorkloadSandbox(this.dataDir, options.isolation ?? null, options.limits ?? {}, this.logger, options.repositoryPolicy?.allowFile ?? false);
    this.repositoryPolicy = options.repositoryPolicy ?? DEFAULT_REPOSITORY_URL_POLICY;
    this.specHashKey = options.specHashKey ?? dataDirSpecHashKey(this.dataDir);
    this.locks = new WorkloadLocks(join(this.dataDir, '.locks'));
    liveInstances.add(this.instance);
    this.output = new WorkloadLogs((id) => this.paths(id), () => !this.closed);
    this.apps = new ProcessApps(this, { ...options.apps, logger: this.logger });
    // Asynchronous from its first step, so listeners added right after construction see what it finds.
    this.adoption = this.adoptAll().catch((error: unknown) => this.logger.error({ err: error, dataDir: this.dataDir }, 'could not adopt workloads'));
  }

  specHash(spec: WorkloadSpec | AppWorkloadSpec['template']): string {
    return workloadSpecHash(spec, this.specHashKey);
  }

  async ensureRunning(spec: WorkloadSpec): Promise<WorkloadStatus> {
    if (this.closed) throw new RuntimeError(RuntimeErrorCode.CLOSED, 'the process runtime is closed');
    if (!isValidWorkloadId(spec.id)) {
      throw new RuntimeError(RuntimeErrorCode.INVALID_WORKLOAD_ID, `invalid workload id "${spec.id}": it names a directory, so use letters, digits, '.', '_' and '-'`);
    }
    // Refused here too, although a directory could be named so: what runs here must run in a cluster.
    assertWorkloadName(spec.id);
    const specHash = this.specHash(spec);
    await this.adoption;
    return this.locks.run(spec.id, async () => {
      const paths = this.paths(spec.id);
      const state = await readWorkloadState(paths.state);
      if (state) {
        const current = await observeWorkload(state, this.paths(state.id));
        const rolled = isActivePhase(current.phase) && current.specHash != null && current.specHash !== specHash;
        if (isActivePhase(current.phase) && !rolled) {
          // Already under way (here, in another instance, or adopted): start nothing.
          if (isRunningPhase(current.phase) && this.runs.get(spec.id)?.runId !== current.runId) this.adopt(current);
          return statusOf(current);
        }
        // Failed, stopped, or run with another spec: make sure nothing of an earlier run is left before starting afresh.
        if (rolled) {
          this.disposeRunOf(spec.id);
          this.logger.info({ workloadId: spec.id, from: current.specHash, to: specHash }, 'its spec changed: starting the workload again with the new one');
        }
        const identity = identityOf(state);
        if (identity) await killProcessGroup(identity, this.stopGraceMs);
        await this.sandbox.endLeftovers(state.uid);
      }
      return this.begin(spec, paths, state, specHash);
    });
  }

  async stop(id: string): Promise<void> {
    if (!isValidWorkloadId(id)) return;
    await this.adoption;
    const run = await this.locks.run(id, () => this.stopLocked(id));
    await run?.settled;
  }

  async remove(id: string): Promise<void> {
    if (!isValidWorkloadId(id)) return;
    await this.adoption;
    const paths = this.paths(id);
    const run = await this.locks.run(id, async () => {
      const run = await this.stopLocked(id);
      // Unmounted first: deleting through a writable mount would delete the storage's files.
      if (existsSync(join(paths.root, 'rclone'))) await unmountStorage(join(paths.root, 'rclone'), paths.work);
      await rm(paths.root, { recursive: true, force: true });
      await this.sandbox.release(id);
      return run;
    });
    if (!run) return;
    // A preparation cut short may have recreated a directory before it noticed; tidy that too.
    await run.settled;
    await this.locks.run(id, async () => {
      if (!(await readWorkloadState(paths.state))) {
        if (existsSync(join(paths.root, 'rclone'))) await unmountStorage(join(paths.root, 'rclone'), paths.work);
        await rm(paths.root, { recursive: true, force: true });
      }
    });
  }

  /**
   * Also takes over watching a program that another instance over the same directory started (a
   * replica of our service that led before us): a running workload this instance is asked about
   * is one it follows to ready or failed from then on, so no caller needs to hand it over.
   */
  async status(id: string): Promise<WorkloadStatus | null> {
    if (!isValidWorkloadId(id)) return null;
    await this.adoption;
    const state = await readWorkloadState(this.paths(id).state);
    if (!state) return null;
    const current = await observeWorkload(state, this.paths(state.id));
    if (isRunningPhase(current.phase) && current === state && this.runs.get(id)?.runId !== state.runId && !this.closed) {
      await this.locks.run(id, async () => {
        const again = await readWorkloadState(this.paths(id).state);
        if (again && again.runId === state.runId && isRunningPhase(again.phase) && this.runs.get(id)?.runId !== again.runId) this.adopt(again);
      });
    }
    return statusOf(current);
  }

  async list(): Promise<WorkloadStatus[]> {
    await this.adoption;
    const statuses: WorkloadStatus[] = [];
    for (const id of await listWorkloadIds(this.dataDir)) {
      try {
        const state = await readWorkloadState(this.paths(id).state);
        const status = state && statusOf(await observeWorkload(state, this.paths(state.id)));
        if (status) statuses.push(status);
      } catch (error) {
        this.logger.warn({ err: error, workloadId: id }, 'could not read a workload state');
      }
    }
    return statuses;
  }

  async logs(id: string, lines: number): Promise<string[]> {
    return this.output.logs(id, lines);
  }

  /** The cursor is a byte offset into the workload's output file. */
  logsAfter(id: string, cursor: string | null, lines: number, maxBytes?: number): Promise<{ lines: string[]; cursor: string }> {
    return this.output.logsAfter(id, cursor, lines, maxBytes);
  }

  streamLogs(id: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    return this.output.streamLogs(id, options);
  }

  // --- apps: see ProcessApps -------------------------------------------------------------

  async ensureApp(spec: AppWorkloadSpec): Promise<AppWorkloadStatus> {
    if (this.closed) throw new RuntimeError(RuntimeErrorCode.CLOSED, 'the process runtime is closed');
    return this.apps.ensureApp(spec);
  }

  scaleApp(appId: string, replicas: number, removeFirst?: string[]): Promise<AppWorkloadStatus | null> {
    return this.apps.scaleApp(appId, replicas, removeFirst);
  }

  appStatus(appId: string): Promise<AppWorkloadStatus | null> {
    return this.apps.appStatus(appId);
  }

  listApps(): Promise<AppWorkloadStatus[]> {
    return this.apps.listApps();
  }

  removeApp(appId: string): Promise<void> {
    return this.apps.removeApp(appId);
  }

  /** `du` over its work directory (see directoryUsage). */
  async diskUsage(id: string): Promise<{ usedBytes: number } | null> {
    if (!isValidWorkloadId(id)) return null;
    const usedBytes = await directoryUsage(this.paths(id).work);
    return usedBytes === null ? null : { usedBytes };
  }

  watch(listener: (event: WorkloadEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops timers, pollers and preparations under way; the programs keep running, for a next instance to adopt. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    liveInstances.delete(this.instance);
    await this.apps.close();
    const runs = [...this.runs.values()];
    for (const run of runs) {
      run.abort.abort();
      this.dispose(run);
    }
    await this.adoption;
    await Promise.allSettled(runs.map((run) => run.settled));
  }

  // --- starting ---------------------------------------------------------------------------

  /** Records a new run as preparing and sets its preparation going; called holding the lock. */
  private async begin(spec: WorkloadSpec, paths: WorkloadPaths, previous: WorkloadState | null, specHash: string): Promise<WorkloadStatus> {
    this.disposeRunOf(spec.id);
    const state: WorkloadState = {
      version: 1,
      id: spec.id,
      kind: spec.kind,
      owner: { ...spec.owner },
      runId: randomUUID(),
      phase: 'preparing',
      reason: null,
      message: null,
      exitCode: null,
      pid: null,
      pidStartTime: null,
      preparer: { pid: process.pid, startTime: OWN_START_TIME, instance: this.instance },
      port: null,
      readinessPath: readinessPath(spec.baseUrl, spec.defaultUrl),
      readinessTimeoutMs: this.readinessTimeoutMs,
      specHash,
      startedAt: null,
      readyAt: null,
      updatedAt: new Date().toISOString(),
    };
    await mkdir(paths.root, { recursive: true });
    await writeWorkloadState(paths.state, state);
    const run = this.newRun(state);
    this.emit(state, previous);
    this.logger.info({ workloadId: spec.id, runId: state.runId }, 'preparing workload');
    run.settled = this.prepareAndStart(spec, paths, run);
    return statusOf(state);
  }

  /** Makes the directories, clones, resolves the command and spawns the program; never throws. */
  private async prepareAndStart(spec: WorkloadSpec, paths: WorkloadPaths, run: Run): Promise<void> {
    const fail = (reason: WorkloadReason, message: string) =>
      this.update(run, (state) => (state.phase === 'preparing' ? failedState(state, reason, message, new Date()) : null));
    try {
      let user;
      try {
        user = await this.sandbox.prepare(spec.id, paths);
      } catch (error) {
        if (error instanceof SandboxError) return void (await fail('PreparationFailed', error.message));
        throw error;
      }
      // Guarded from the moment the uid is known, while everything else is made ready (the nft
      // transaction and the listing before it take several ms, more than the rest of a start
      // without repositories), and given back below unless a program came to serve on it.
      const port = await freeLocalPort();
      const guarding = user ? this.sandbox.guardPort(port, user).then(() => null, (error: unknown) => error) : Promise.resolve(null);
      let serving = false;
      try {
        // Owned by the workload's user, so that only it (and we) can read them.
        await writeSecretFiles(secretsDirOf(paths.root), spec.secretFiles ?? [], user);
        try {
          const leftover = await killLeftoverClone(paths.clonePid, paths.work, spec.repositories);
          if (leftover.ended > 0) this.logger.warn({ workloadId: spec.id, ...leftover }, 'ended a clone an earlier preparation left running');
          await cloneRepositories(paths.work, spec.repositories, run.abort.signal, paths.clonePid, {
            user,
            namespace: this.sandbox.namespace,
            env: { ...this.sandbox.gitEnvironment(paths.home), GIT_ALLOW_PROTOCOL: allowedGitProtocols(this.repositoryPolicy) },
            urlProblem: (url) => repositoryUrlProblem(url, this.repositoryPolicy),
          });
        } catch (error) {
          if (run.abort.signal.aborted) return;
          if (error instanceof CloneError) return void (await fail('PreparationFailed', error.message));
          throw error;
        }
        if (run.abort.signal.aborted) return;
        try {
          await mountStorage(join(paths.root, 'rclone'), paths.work, spec.mounts ?? [], user);
        } catch (error) {
          if (run.abort.signal.aborted) return;
          if (error instanceof MountError) {
            await unmountStorage(join(paths.root, 'rclone'), paths.work);
            return void (await fail('PreparationFailed', error.message));
          }
          throw error;
        }
        if (run.abort.signal.aborted) return;

        const env: Record<string, string> = {
          ...programEnvironment({ hostEnv: process.env, home: paths.home, specEnv: { ...spec.env, ...spec.secretEnv }, port, baseUrl: spec.baseUrl, workDir: paths.work, user }),
          // What a container sees at /secrets (see WorkloadSpec.secretFiles); only when it has some.
          ...(spec.secretFiles?.length ? { LAUNCHPAD_SECRETS_DIR: secretsDirOf(paths.root) } : {}),
        };
        const [command = '', ...args] = [...spec.command, ...spec.args].map((part) => expandVariables(part, env));
        if (spec.command.length === 0 || command === '') return void (await fail('EmptyCommand', EMPTY_COMMAND_MESSAGE));
        const executable = await resolveCommand(command, env.PATH ?? '', paths.work);
        if (!executable) return void (await fail('CommandNotFound', commandNotFoundMessage(command)));

        const started = await this.locks.run(spec.id, async () => {
          if (run.abort.signal.aborted || run.disposed) return null;
          const state = await readWorkloadState(paths.state);
          if (!state || state.runId !== run.runId || state.phase !== 'preparing') return null;
          await this.sandbox.prepareExitFile(paths.exitCode, user);
          const guardError = await guarding;
          if (guardError instanceof SandboxError) {
            const failed = failedState(state, 'PreparationFailed', guardError.message, new Date());
            await writeWorkloadState(paths.state, failed);
            this.emit(failed, state);
            return null;
          }
          if (guardError) throw guardError;
          const program = await spawnProgram({
            executable,
            args,
            env,
            cwd: paths.work,
            logPath: paths.log,
            exitCodePath: paths.exitCode,
            user,
            prefix: this.sandbox.launchPrefix(spec.resources),
            namespace: this.sandbox.namespace,
          });
          const now = new Date().toISOString();
          const next: WorkloadState = { ...state, phase: 'starting', pid: program.pid, pidStartTime: program.startTime, port, uid: user?.uid ?? null, preparer: null, startedAt: now, updatedAt: now };
          try {
            await writeWorkloadState(paths.state, next);
          } catch (error) {
            // Unrecorded, it could never be found again: do not leave it running.
            await killProcessGroup({ pid: program.pid, startTime: program.startTime }, 0);
            throw error;
          }
          // From here on, the program's end gives the port back (see emit).
          serving = true;
          this.emit(next, state);
          this.logger.info({ workloadId: spec.id, pid: program.pid, port }, 'started workload program');
          return program;
        });
        if (started) this.monitor(run, started);
      } finally {
        // Awaited: a run's preparation is settled only once its port is given back.
        if (!serving && user && !(await guarding)) await this.sandbox.releasePort(port, user.uid);
      }
    } catch (error) {
      if (run.abort.signal.aborted) return;
      this.logger.error({ err: error, workloadId: spec.id }, 'could not start workload');
      await fail('StartFailed', `could not start: ${(error as Error).message}`).catch(() => undefined);
    }
  }

  // --- watching ---------------------------------------------------------------------------

  /** Watches a program that already runs, started by an earlier instance or another replica. */
  private adopt(state: WorkloadState): void {
    if (this.closed) return;
    this.disposeRunOf(state.id);
    const run = this.newRun(state);
    this.logger.info({ workloadId: state.id, pid: state.pid, phase: state.phase }, 'adopted running workload');
    this.monitor(run, null);
  }

  /** Polls readiness while starting, and for an exit afterwards; our own child's exit is seen at once. */
  private monitor(run: Run, program: SpawnedProgram | null): void {
    if (this.closed || run.disposed) return;
    run.program = program;
    program?.exited.then((exit) => {
      run.childExit = exit;
      void this.tick(run);
    });
    this.schedule(run, 0);
  }

  private schedule(run: Run, delayMs: number): void {
    if (run.disposed || this.closed) return;
    if (run.timer) clearTimeout(run.timer);
    run.timer = setTimeout(() => void this.tick(run), delayMs);
    run.timer.unref();
  }

  private async tick(run: Run): Promise<void> {
    if (run.disposed || this.closed || run.ticking) return;
    run.ticking = true;
    let nextDelay = EXIT_POLL_INTERVAL_MS;
    try {
      let state: WorkloadState;
      let identity: ProcessIdentity;
      // Our own child, starting, probed every few ms: its exit reaches us as an event (childExit)
      // and whoever stops it ends it, so its state file and /proc need not be read for every probe.
      const recent = run.checked && run.program && !run.childExit && run.checked.state.phase === 'starting' && Date.now() - run.checked.at < FULL_CHECK_MS;
      if (recent) {
        state = run.checked!.state;
        identity = identityOf(state)!;
      } else {
        const read = await readWorkloadState(this.paths(run.id).state);
        const readIdentity = read && identityOf(read);
        if (!read || !readIdentity || read.runId !== run.runId || !isRunningPhase(read.phase)) return this.dispose(run);
        if (!(await isProcessRunning(readIdentity))) return void (await this.onExit(run, readIdentity, read.uid));
        state = read;
        identity = readIdentity;
        run.checked = { state, at: Date.now() };
      }
      if (state.phase === 'starting' && state.port !== null) {
        nextDelay = probeDelayMs(run.probes++, this.readinessIntervalMs);
        const probeTimeout = Math.min(5_000, Math.max(1_000, this.readinessIntervalMs * 4));
        if (await probeHttp(state.port, state.readinessPath, probeTimeout)) {
          const ready = await this.update(run, (s) => (s.phase === 'starting' ? { ...s, phase: 'ready', readyAt: new Date().toISOString(), updatedAt: new Date().toISOString() } : null));
          if (ready) this.logger.info({ workloadId: run.id, port: state.port }, 'workload ready');
          nextDelay = EXIT_POLL_INTERVAL_MS;
        } else if (Date.now() >= Date.parse(state.startedAt ?? state.updatedAt) + state.readinessTimeoutMs) {
          return void (await this.onReadinessTimeout(run, identity));
        }
      }
    } catch (error) {
      this.logger.warn({ err: error, workloadId: run.id }, 'could not check workload');
    } finally {
      run.ticking = false;
    }
    this.schedule(run, nextDelay);
  }

  /** `uid`: what the program ran as, from the state of this run that showed it gone. */
  private async onExit(run: Run, identity: ProcessIdentity, uid: number | null | undefined): Promise<void> {
    const paths = this.paths(run.id);
    let exit: ProgramExit = { code: await readExitCode(paths.exitCode), signal: null };
    if (exit.code === null && run.program) {
      // Our own child: its exit event may be a moment behind /proc.
      exit = run.childExit ?? (await Promise.race([run.program.exited, new Promise<null>((r) => setTimeout(() => r(null), 1_000).unref())])) ?? exit;
      if (exit.code === 0 && exit.signal === null) exit = { code: null, signal: null }; // the shell's own status says nothing
    }
    // What the program started and left behind (a pid no longer in use cannot be anyone else's group).
    await signalProcessGroup(identity, 'SIGKILL').catch(() => undefined);
    // And what it left outside its group, before the exit is recorded (no next run can begin before).
    await this.sandbox.endLeftovers(uid);
    const lines = await tailFile(paths.log, LINES_IN_MESSAGES);
    const failed = await this.update(run, (state) => (isRunningPhase(state.phase) ? exitedState(state, exit, lines, new Date()) : null));
    if (failed) this.logger.warn({ workloadId: run.id, exitCode: failed.exitCode }, 'workload program exited');
    this.dispose(run);
  }

  private async onReadinessTimeout(run: Run, identity: ProcessIdentity): Promise<void> {
    this.dispose(run);
    const paths = this.paths(run.id);
    await this.locks.run(run.id, async () => {
      const state = await readWorkloadState(paths.state);
      if (!state || state.runId !== run.runId || state.phase !== 'starting') return;
      const lines = await tailFile(paths.log, LINES_IN_MESSAGES);
      const next = failedState(state, 'ReadinessTimeout', readinessTimeoutMessage(state.port ?? 0, state.readinessPath, state.readinessTimeoutMs, lines), new Date());
      // Recorded before the kill, as a stop is: a runtime killed in between finishes the kill when it restarts.
      await writeWorkloadState(paths.state, next);
      await killProcessGroup(identity, this.stopGraceMs);
      await this.sandbox.endLeftovers(state.uid);
      this.emit(next, state);
      this.logger.warn({ workloadId: run.id, port: state.port }, 'workload did not become ready in time');
    });
  }

  // --- stopping ---------------------------------------------------------------------------

  /** Called holding the lock. Returns the run that was under way, whose preparation may still be settling. */
  private async stopLocked(id: string): Promise<Run | undefined> {
    const run = this.runs.get(id);
    if (run) {
      run.abort.abort();
      this.dispose(run);
    }
    const paths = this.paths(id);
    const state = await readWorkloadState(paths.state);
    if (!state) return run;
    let stopped = state;
    if (state.phase !== 'stopped') {
      // Recorded first, pid kept: were we killed before the program is, the next instance finishes the stop.
      stopped = { ...state, phase: 'stopped', reason: null, message: null, preparer: null, updatedAt: new Date().toISOString() };
      await writeWorkloadState(paths.state, stopped);
    }
    const identity = identityOf(state);
    if (identity) await killProcessGroup(identity, this.stopGraceMs);
    // setsid'd or double-forked leftovers are outside the group: a hibernated session runs nothing.
    await this.sandbox.endLeftovers(state.uid);
    await killLeftoverClone(paths.clonePid, paths.work);
    // Only when there is something to clean up: a plain stop stays as quick as it was.
    if (existsSync(secretsDirOf(paths.root))) await removeSecretFiles(secretsDirOf(paths.root));
    if (existsSync(join(paths.root, 'rclone'))) await unmountStorage(join(paths.root, 'rclone'), paths.work);
    if (stopped !== state) {
      this.emit(stopped, state);
      this.logger.info({ workloadId: id }, 'stopped workload');
    }
    return run;
  }

  // --- adoption after a restart -----------------------------------------------------------

  private async adoptAll(): Promise<void> {
    await this.sandbox.init();
    const host = this.adoptionHost();
    for (const id of await listWorkloadIds(this.dataDir)) {
      await this.locks.run(id, () => adoptWorkload(host, id)).catch((error: unknown) => this.logger.warn({ err: error, workloadId: id }, 'could not adopt a workload'));
    }
  }

  /** What adoption (workload-adoption.ts) may see and do of this runtime. */
  private adoptionHost(): AdoptionHost {
    return {
      stopGraceMs: this.stopGraceMs,
      logger: this.logger,
      locks: this.locks,
      isClosed: () => this.closed,
      hasRun: (id) => this.runs.has(id),
      paths: (id) => this.paths(id),
      emit: (state, previous) => this.emit(state, previous),
      adopt: (state) => this.adopt(state),
    };
  }

  // --- plumbing ---------------------------------------------------------------------------

  /**
   * Changes the state of a run, holding its lock, if that run is still the workload's current
   * one; announces a phase change; ends the run when it reaches failed or stopped.
   */
  private async update(run: Run, change: (state: WorkloadState) => WorkloadState | null): Promise<WorkloadState | null> {
    const paths = this.paths(run.id);
    return this.locks.run(run.id, async () => {
      const state = await readWorkloadState(paths.state);
      if (!state || state.runId !== run.runId) {
        this.dispose(run);
        return null;
      }
      const next = change(state);
      if (!next) return null;
      await writeWorkloadState(paths.state, next);
      this.emit(next, state);
      if (!isActivePhase(next.phase)) this.dispose(run);
      return next;
    });
  }

  private newRun(state: WorkloadState): Run {
    const run: Run = {
      id: state.id,
      runId: state.runId,
      abort: new AbortController(),
      settled: Promise.resolve(),
      timer: null,
      program: null,
      childExit: null,
      ticking: false,
      probes: 0,
      checked: null,
      disposed: false,
    };
    this.runs.set(state.id, run);
    return run;
  }

  private dispose(run: Run): void {
    run.disposed = true;
    if (run.timer) clearTimeout(run.timer);
    run.timer = null;
    if (this.runs.get(run.id) === run) this.runs.delete(run.id);
  }

  private disposeRunOf(id: string): void {
    const run = this.runs.get(id);
    if (run) {
      run.abort.abort();
      this.dispose(run);
    }
  }

  private emit(state: WorkloadState, previous: WorkloadState | null): void {
    if (previous && previous.phase === state.phase && previous.runId === state.runId) return;
    // Every end of a program passes here (exit, stop, failure, a restart's adoption finding it gone).
    if (previous?.port != null && previous.uid != null && isRunningPhase(previous.phase) && !(isRunningPhase(state.phase) && state.runId === previous.runId)) {
      void this.sandbox.releasePort(previous.port, previous.uid);
    }
    const event: WorkloadEvent = { id: state.id, status: statusOf(state) };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn({ err: error, workloadId: state.id }, 'a workload listener threw');
      }
    }
  }

  private paths(id: string): WorkloadPaths {
    return workloadPaths(this.dataDir, id);
  }
}
