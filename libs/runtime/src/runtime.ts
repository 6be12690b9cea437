/**
 * The one interface the sessions and apps services use to run workloads, whatever runs them:
 * the `process` driver (a child process per workload, on one machine) or the `kubernetes` driver
 * (a StatefulSet or Deployment per workload). Callers are level-triggered reconcilers: they
 * compare what they want with `list()` and call `ensureRunning` / `stop` / `remove` to repair
 * the difference, so every method is idempotent and safe to call again after a crash.
 */

export type WorkloadKind = 'session' | 'app';

export interface RepositorySpec {
  /** The directory name under the work directory, e.g. `analysis` for `<work>/analysis`. */
  name: string;
  /** What `git clone` is given: an https URL, an ssh URL or a local path. */
  url: string;
}

export interface ResourceSpec {
  cpu: number;
  memoryMb: number;
  gpu: number;
  diskGb: number;
}

export interface WorkloadSpec {
  /** Unique per workload: a session id, or an app replica id. Also the key of its data. */
  id: string;
  kind: WorkloadKind;
  /** Who the workload belongs to, carried as labels so a reconciler can find what it made. */
  owner: { service: 'sessions' | 'apps'; id: string };
  image: string;
  command: string[];
  /**
   * `$(VAR)` references are expanded from the workload's environment, as Kubernetes does. The
   * runtime sets LAUNCHPAD_HOST (the address to listen on), LAUNCHPAD_PORT and PORT,
   * LAUNCHPAD_BASE_URL and LAUNCHPAD_WORK_DIR.
   */
  args: string[];
  env: Record<string, string>;
  /** The port the program listens on inside its container; the process driver picks a free one instead. */
  port: number;
  /** The URL path the program is served under, e.g. `/sessions/<id>/`; given to it as LAUNCHPAD_BASE_URL. */
  baseUrl: string;
  /** Readiness is a 2xx/3xx answer on `baseUrl` + `defaultUrl` (joined without a double slash). */
  defaultUrl: string;
  /** The work directory inside the workload (`/work`); the process driver maps it to a local directory. */
  workingDirectory: string;
  repositories: RepositorySpec[];
  resources: ResourceSpec;
}

/**
 * Where a workload is in its life:
 * - `preparing`: its work directory is being made and repositories cloned;
 * - `starting`: the program runs, readiness not yet seen;
 * - `ready`: it answers on its default URL;
 * - `failed`: it could not be prepared or started, or it exited; `message` says why;
 * - `stopped`: not running, its data kept (hibernated, or a preparation that was interrupted by a
 *   restart of the runtime: `message` says so, and the next `ensureRunning` prepares it again).
 */
export type WorkloadPhase = 'preparing' | 'starting' | 'ready' | 'failed' | 'stopped';

export interface WorkloadStatus {
  id: string;
  kind: WorkloadKind;
  owner: { service: 'sessions' | 'apps'; id: string };
  phase: WorkloadPhase;
  /** Where the gateway or activator reaches it, e.g. `http://127.0.0.1:41234`; set while starting or ready. */
  endpoint: string | null;
  /** For `failed`: what happened, in words a person can act on, e.g. `command not found: jupyter`. */
  message: string | null;
  exitCode: number | null;
  startedAt: string | null;
  readyAt: string | null;
}

export interface WorkloadEvent {
  id: string;
  status: WorkloadStatus;
}

export interface Runtime {
  readonly name: 'process' | 'kubernetes';
  /**
   * Makes the workload run: prepares its data (once; kept across stops), starts the program and
   * watches for readiness in the background. Returns once the work is under way. If the workload
   * already runs, or is being started, nothing new is started (a crashed caller may call it again).
   * A `failed` workload is started afresh.
   */
  ensureRunning(spec: WorkloadSpec): Promise<WorkloadStatus>;
  /** Stops the program (the whole process tree / pods) and keeps its data. Idempotent. */
  stop(id: string): Promise<void>;
  /** Stops the program and deletes its data. Idempotent: removing an unknown id does nothing. */
  remove(id: string): Promise<void>;
  status(id: string): Promise<WorkloadStatus | null>;
  /** Every workload this runtime knows of, including ones started before this process did. */
  list(): Promise<WorkloadStatus[]>;
  /** The last `lines` lines of its output (stdout and stderr together). Empty for an unknown id. */
  logs(id: string, lines: number): Promise<string[]>;
  /**
   * For following its output: with a null cursor, the last `lines` lines; with the cursor an
   * earlier call returned, the lines written since. Either way, the cursor to pass next time.
   * At most about `maxBytes` of output in whole lines (a driver's own limit when not given); with
   * a cursor, the rest comes next time.
   */
  logsAfter(id: string, cursor: string | null, lines: number, maxBytes?: number): Promise<{ lines: string[]; cursor: string }>;
  /** Called on every phase change, so a reconciler can react without polling. Returns an unsubscribe. */
  watch(listener: (event: WorkloadEvent) => void): () => void;
  /** Stops watching and background work; leaves workloads running. */
  close(): Promise<void>;
}
