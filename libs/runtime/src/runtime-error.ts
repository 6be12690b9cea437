/**
 * What went wrong in a runtime call, as a code a caller can act on without reading the message:
 * `retryable` says whether the same call may succeed later (a reconciler backs off and tries
 * again) or not (it records the failure and gives up until the spec changes).
 */
export enum RuntimeErrorCode {
  /** The spec cannot be run as it is (an id that is no DNS-1123 label, a resource the cluster does not have). */
  INVALID_SPEC = 'INVALID_SPEC',
  /** The workload id cannot name a workload (kept for the process driver's callers). */
  INVALID_WORKLOAD_ID = 'INVALID_WORKLOAD_ID',
  /** The runtime refused us (Kubernetes 401/403): a deployment problem, not a transient one. */
  FORBIDDEN = 'FORBIDDEN',
  /** The backend could not be reached or answered 5xx / 429, or timed out. */
  UNAVAILABLE = 'UNAVAILABLE',
  /** Someone else changed the object meanwhile (Kubernetes 409 that a re-read did not settle). */
  CONFLICT = 'CONFLICT',
  /** The runtime was closed. */
  CLOSED = 'CLOSED',
}

const RETRYABLE: ReadonlySet<RuntimeErrorCode> = new Set([RuntimeErrorCode.UNAVAILABLE, RuntimeErrorCode.CONFLICT]);

export class RuntimeError extends Error {
  readonly retryable: boolean;

  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'RuntimeError';
    this.retryable = RETRYABLE.has(code);
    this.retryAfterMs = options.retryAfterMs ?? null;
  }

  /** A hint from the backend (Kubernetes `Retry-After`), or null. */
  readonly retryAfterMs: number | null;
}

/** Whether calling again later may help: true for a RuntimeError that says so and for anything unknown (a bug is logged and retried with backoff). */
export function isRetryable(error: unknown): boolean {
  return error instanceof RuntimeError ? error.retryable : true;
}
