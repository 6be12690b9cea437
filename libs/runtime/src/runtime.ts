/**
 * The one interface the sessions and apps services use to run workloads, whatever runs them:
 * the `process` driver (a child process per workload, on one machine) or the `kubernetes` driver
 * (a StatefulSet per session, a Deployment per app). Callers are level-triggered reconcilers
 * (see ReconcileController): they compare what they want with what `status()` / `appStatus()`
 * report and call `ensureRunning` / `stop` / `remove` / `ensureApp` / `removeApp` to repair the
 * difference, so every method is idempotent and safe to call again after a crash.
 *
 * Two granularities:
 * - a **workload** (a session): one program, one work directory, started, stopped (data kept)
 *   and removed by the caller;
 * - an **app**: N interchangeable replicas of one template. The caller sets the template and the
 *   replica count and reads back the endpoints of the ready replicas; the runtime decides which
 *   replica is which, replaces crashed ones and drains the ones it removes (as a Deployment does).
 *   Each replica is also a workload: `list()` / `status()` / `logs()` / `watch()` see them, with
 *   `owner = { service: 'apps', id: <appId> }`.
 *
 * Errors: a method that cannot do its work throws a RuntimeError whose `retryable` says whether
 * calling again later may succeed (`UNAVAILABLE`, `CONFLICT`) or not (`INVALID_SPEC`, `FORBIDDEN`).
 */

export type WorkloadKind = 'session' | 'app';

export interface WorkloadOwner {
  service: 'sessions' | 'apps';
  /** The session id, or the app (launcher) id. */
  id: string;
}

export interface RepositorySpec {
  /** The directory name under the work directory, e.g. `analysis` for `<work>/analysis`. */
  name: string;
  /** What `git clone` is given: an https URL, an ssh URL or a local path. */
  url: string;
}

/**
 * What a workload asks for. `cpu`, `memoryMb` and `gpu` are requests (what a scheduler reserves);
 * `limits` caps what it may use. `diskGb` is the size of its work volume.
 */
export interface ResourceSpec {
  cpu: number;
  memoryMb: number;
  gpu: number;
  diskGb: number;
  /**
   * The most it may use (Kubernetes `limits`). Unset (or null) per field: cpu unlimited, memory
   * the same as its request. GPUs are whole devices: their limit is always the request.
   */
  limits?: { cpu?: number | null; memoryMb?: number | null };
  /** The extended resource `gpu` counts, e.g. `nvidia.com/gpu` (the default) or `amd.com/gpu`. */
  gpuResourceName?: string;
}

/** The user and group the program runs as (Kubernetes `securityContext`); null: the image's / driver's default. */
export interface SecuritySpec {
  uid: number | null;
  gid: number | null;
  /** Group that owns the work volume (Kubernetes `fsGroup`), so the program can write to it. */
  fsGroup: number | null;
}

/** A Kubernetes toleration, as the pod spec has it. */
export interface Toleration {
  key?: string;
  operator?: 'Equal' | 'Exists';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

/** Where the workload may be placed; from the resource class. The process driver ignores it. */
export interface SchedulingSpec {
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
}

export interface WorkloadSpec {
  /**
   * Unique per workload: a session id, or an app replica id. Also the key of its data, and the
   * name of its cluster objects, so it must be a DNS-1123 label (see `isDns1123Label`): lowercase
   * letters, digits and '-', at most 63 characters, starting and ending with a letter or digit.
   */
  id: string;
  kind: WorkloadKind;
  /** Who the workload belongs to, carried as labels so a reconciler can find what it made. */
  owner: WorkloadOwner;
  image: string;
  /** Image pull secrets (names of Secrets in the runtime's namespace) for a private registry. */
  imagePullSecrets?: string[];
  /**
   * The program to run, replacing the image's entrypoint. Empty: the image's own entrypoint (with
   * `args` as its arguments), as Kubernetes does. The process driver has no image to ask and
   * fails such a workload, saying so.
   */
  command: string[];
  /**
   * `$(VAR)` references are expanded from the workload's environment, as Kubernetes does. The
   * runtime sets LAUNCHPAD_HOST (the address to listen on), LAUNCHPAD_PORT and PORT,
   * LAUNCHPAD_BASE_URL and LAUNCHPAD_WORK_DIR.
   */
  args: string[];
  env: Record<string, string>;
  /**
   * Environment variables whose values are secret (decrypted launcher variables, the program's own
   * token), kept apart from `env` so a driver can keep them out of what others read: a Kubernetes
   * Secret referenced by `secretKeyRef` (never the StatefulSet's or Deployment's pod template); the
   * process driver gives the program `env` and these together, as one environment. On a name in
   * both, this one wins. `$(VAR)` expansion sees them like any other variable.
   */
  secretEnv?: Record<string, string>;
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
  /** Run as this user and group (environments carry uid/gid). Unset: the driver's default. */
  security?: SecuritySpec;
  /** The storage class of the work volume; unset or null: the cluster's default class. */
  storageClassName?: string | null;
  scheduling?: SchedulingSpec;
  /**
   * Files only the workload may read, in a directory of their own: `/secrets` in a container (a
   * Secret volume, the kubernetes driver's `<workload>-secrets` Secret, files 0400),
   * `LAUNCHPAD_SECRETS_DIR` on the process driver (written when it starts, deleted when it stops).
   * Names are plain file names.
   */
  secretFiles?: { name: string; content: string }[];
  /** Storage mounted into the work directory with rclone (see StorageMount). */
  mounts?: StorageMount[];
}

/**
 * A storage location mounted at `<work>/<targetPath>` with `rclone mount` (a cluster driver: a
 * CSI volume or a sidecar doing the same). `configuration` is rclone's section for the remote,
 * credentials included (passwords in clear: the driver obscures what rclone wants obscured).
 */
export interface StorageMount {
  name: string;
  storageType: string;
  configuration: Record<string, string>;
  sourcePath: string;
  targetPath: string;
  readonly: boolean;
}

/**
 * Where a workload is in its life:
 * - `pending`: accepted, waiting for something outside the program before it can start (no node
 *   has room, its volume is not bound yet, its image is being pulled); `reason` says which and
 *   `message` says it in words (e.g. "waiting for resources: 0/3 nodes have 4 free GPUs");
 * - `preparing`: its work directory is being made and repositories cloned;
 * - `starting`: the program runs, readiness not yet seen (also while it is restarted after a crash);
 * - `ready`: it answers on its default URL;
 * - `failed`: it could not be prepared or started, or it exited; `reason` and `message` say why.
 *   A driver that restarts crashed programs (see `Runtime.restartsCrashedPrograms`) keeps trying
 *   while reporting `failed` with reason `CrashLoopBackOff`, as the kubelet does;
 * - `stopped`: not running, its data kept (hibernated, or a preparation that was interrupted by a
 *   restart of the runtime: reason `Interrupted`, and the next `ensureRunning` prepares it again).
 */
export type WorkloadPhase = 'pending' | 'preparing' | 'starting' | 'ready' | 'failed' | 'stopped';

/** Phases in which something is (or should soon be) under way. */
export const ACTIVE_PHASES: readonly WorkloadPhase[] = ['pending', 'preparing', 'starting', 'ready'];
export const isActive = (phase: WorkloadPhase): boolean => ACTIVE_PHASES.includes(phase);

/**
 * Why a workload is pending, failed or stopped, for a program to act on (the `message` is for a
 * person). New reasons may be added: treat an unknown one by its phase.
 */
export type WorkloadReason =
  // pending
  | 'Unschedulable'
  | 'ClaimPending'
  | 'PullingImage'
  // failed
  | 'ImagePullFailed'
  | 'CommandNotFound'
  | 'EmptyCommand'
  | 'PreparationFailed'
  | 'Exited'
  | 'CrashLoopBackOff'
  | 'ReadinessTimeout'
  | 'StartFailed'
  // stopped
  | 'Interrupted';

export interface WorkloadStatus {
  id: string;
  kind: WorkloadKind;
  owner: WorkloadOwner;
  phase: WorkloadPhase;
  /** Machine-readable cause of `pending`, `failed` or an interrupted `stopped`; null otherwise. */
  reason: WorkloadReason | null;
  /** Where the gateway or activator reaches it, e.g. `http://127.0.0.1:41234`; set while starting or ready. */
  endpoint: string | null;
  /** For `pending` and `failed`: what happened, in words a person can act on, e.g. `command not found: jupyter`. */
  message: string | null;
  exitCode: number | null;
  /** How often the runtime restarted its program since it was last started by `ensureRunning`. */
  restarts: number;
  /**
   * `workloadSpecHash` of the spec the workload runs (or was last run) with; null when unknown
   * (started by an older version). `ensureRunning` with a spec of another hash rolls it.
   */
  specHash: string | null;
  startedAt: string | null;
  readyAt: string | null;
  /** For an app replica: the `AppWorkloadSpec.generation` it was started for (older ones drain or go). */
  appGeneration?: number;
}

export interface WorkloadEvent {
  id: string;
  status: WorkloadStatus;
}

/** One line of a workload's output (stdout and stderr together). */
export interface LogLine {
  text: string;
  /** When it was written (RFC 3339), if the driver knows; the process driver knows it for lines it saw being written. */
  time: string | null;
}

export interface LogOptions {
  /** Start with the last `tailLines` lines (default: every line kept). */
  tailLines?: number;
  /** Only lines written at or after this time (lines of unknown time are kept). */
  sinceTime?: Date;
  /** Go on with the lines written afterwards until `signal` aborts, the workload is removed, or `close()`. */
  follow?: boolean;
  signal?: AbortSignal;
}

/** An app: `replicas` interchangeable copies of one template, reached through their endpoints. */
export interface AppWorkloadSpec {
  /** The app (launcher) id; a DNS-1123 label of at most 40 characters, so that replica names fit in one. */
  appId: string;
  /**
   * What each replica runs. A new generation (the app was activated again) replaces every replica,
   * as does a template whose hash differs from what runs (a rolling update).
   */
  template: Omit<WorkloadSpec, 'id' | 'kind' | 'owner'>;
  generation: number;
  replicas: number;
  /**
   * Replicas to take away first when scaling down, most preferred first (Kubernetes:
   * `controller.kubernetes.io/pod-deletion-cost`). The others in any order the driver likes.
   */
  removeFirst?: string[];
  /**
   * How long a replica taken out of rotation keeps serving the requests it has before it is stopped
   * (Kubernetes: a preStop sleep within `terminationGracePeriodSeconds`). Default: the driver's.
   */
  drainMs?: number;
}

export interface AppWorkloadStatus {
  appId: string;
  generation: number;
  /** Desired replicas, as last set. */
  replicas: number;
  readyReplicas: number;
  /** `workloadSpecHash` of the template as last set; each replica's own status says what it runs. */
  specHash: string;
  /** Ready replicas in rotation, in a stable order: what the activator routes to. Draining ones are not in it. */
  endpoints: string[];
  /**
   * Every replica the runtime has for it, draining ones and older generations' included (their
   * endpoints are not in `endpoints`), each with its `appGeneration`. A new generation replaces
   * every replica even if the template is the same (Kubernetes: the generation is part of the pod
   * template, so the Deployment rolls).
   */
  instances: WorkloadStatus[];
}

export interface Runtime {
  readonly name: 'process' | 'kubernetes';
  /**
   * The `specHash` this runtime reports for a workload run with `spec` (workloadSpecHash with the
   * runtime's key): how a caller tells whether a workload runs what it asked for, without knowing
   * the key.
   */
  specHash(spec: WorkloadSpec | AppWorkloadSpec['template']): string;
  /**
   * Who restarts the program of a single workload (a session) that exits: true when the runtime
   * does (with a backoff, reporting `restarts` and, between tries, `failed`/`CrashLoopBackOff`), as
   * the kubelet does for a StatefulSet's pod. False when an exit is final: `failed`/`Exited` until
   * the next `ensureRunning`. App replicas are always restarted by the runtime (see `ensureApp`).
   */
  readonly restartsCrashedPrograms: boolean;

  // --- single workloads (sessions) ---
  /**
   * Makes the workload run: prepares its data (once; kept across stops), starts the program and
   * watches for readiness in the background. Returns once the work is under way. If the workload
   * already runs with a spec of the same hash, or is being started, nothing new is started (a
   * crashed caller may call it again); with a spec of another hash it is started again with the
   * new one, its data kept. A `failed` or `stopped` workload is started afresh.
   * Throws RuntimeError INVALID_SPEC for a spec it cannot run (e.g. an id that is no DNS-1123 label).
   */
  ensureRunning(spec: WorkloadSpec): Promise<WorkloadStatus>;
  /** Stops the program (the whole process tree / pods) and keeps its data. Idempotent. */
  stop(id: string): Promise<void>;
  /** Stops the program and deletes its data. Idempotent: removing an unknown id does nothing. */
  remove(id: string): Promise<void>;
  status(id: string): Promise<WorkloadStatus | null>;
  /** Every workload this runtime knows of (app replicas included), including ones started before this process did. */
  list(): Promise<WorkloadStatus[]>;

  // --- apps ---
  /**
   * Makes the app have `replicas` ready replicas of `template` (see AppWorkloadSpec): starts the
   * missing ones, restarts crashed ones after a backoff (their status says `restarts`, and
   * `failed`/`CrashLoopBackOff` while they wait), takes the extra ones out of rotation, drains and
   * stops them. A replica that fails before it was ever ready while no other serves is left
   * `failed` with its reason: the app cannot start, and its owner decides. Returns at once, the
   * work under way; `appStatus` and `watch` tell how it goes. Idempotent: call it on every reconcile.
   */
  ensureApp(spec: AppWorkloadSpec): Promise<AppWorkloadStatus>;
  /** Changes only the replica count of an app set up by `ensureApp` (Kubernetes: the scale subresource). */
  scaleApp(appId: string, replicas: number, removeFirst?: string[]): Promise<AppWorkloadStatus | null>;
  appStatus(appId: string): Promise<AppWorkloadStatus | null>;
  listApps(): Promise<AppWorkloadStatus[]>;
  /** Stops every replica and deletes the app's data and objects. Idempotent. */
  removeApp(appId: string): Promise<void>;

  // --- output and changes ---
  /** The last `lines` lines of its output (stdout and stderr together). Empty for an unknown id. */
  logs(id: string, lines: number): Promise<string[]>;
  /** Its output as a stream (see LogOptions); ends at once, empty, for an unknown id. */
  streamLogs(id: string, options?: LogOptions): AsyncIterable<LogLine>;
  /**
   * @deprecated Follow with `streamLogs`. For polling its output: with a null cursor, the last
   * `lines` lines; with the cursor an earlier call returned, the lines written since. The cursor is
   * opaque and the driver's own. At most about `maxBytes` of output in whole lines.
   */
  logsAfter(id: string, cursor: string | null, lines: number, maxBytes?: number): Promise<{ lines: string[]; cursor: string }>;
  /**
   * How much of its work volume a workload uses, in bytes (the process driver measures its work
   * directory; a cluster driver reads the volume's stats). Null for an unknown id. Optional: a
   * driver without it reports no usage.
   */
  diskUsage?(id: string): Promise<{ usedBytes: number } | null>;
  /** Called on every phase change (and every change of an app replica's endpoint), so a reconciler can react without polling. Returns an unsubscribe. */
  watch(listener: (event: WorkloadEvent) => void): () => void;
  /** Stops watching and background work; leaves workloads running. */
  close(): Promise<void>;
}
