import { RuntimeError, RuntimeErrorCode } from '../runtime-error.js';

/** The HTTP status of a failed client-node call (ApiException `code`, or a watch's `statusCode`), or null for a network error. */
export function httpStatusOf(error: unknown): number | null {
  const e = error as { code?: unknown; statusCode?: unknown } | null;
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return null;
}

/** The API server's own words: the `message` of the Status it answered with. */
export function serverMessage(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  let status: unknown = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      return body.slice(0, 300);
    }
  }
  const message = (status as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String((error as Error)?.message ?? error).split('\n')[0]!;
}

export const isNotFound = (error: unknown) => httpStatusOf(error) === 404;
export const isConflict = (error: unknown) => httpStatusOf(error) === 409;

/**
 * A failed API call as a RuntimeError a reconciler can act on: 401/403 is a deployment problem
 * (the ServiceAccount's Role lacks the verb) and is not retried; 400/422 is a spec the cluster
 * refuses; 409 that our re-reads did not settle, 429, 5xx and network errors are retried.
 */
export function toRuntimeError(error: unknown, what: string): RuntimeError {
  if (error instanceof RuntimeError) return error;
  const status = httpStatusOf(error);
  const detail = serverMessage(error);
  if (status === 401 || status === 403) {
    return new RuntimeError(RuntimeErrorCode.FORBIDDEN, `the Kubernetes API refused to ${what} (${status}): ${detail}. Check the service account's Role (deploy/k8s/base/rbac.yaml)`, { cause: error });
  }
  if (status === 400 || status === 422) return new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `the Kubernetes API refused to ${what}: ${detail}`, { cause: error });
  if (status === 409) return new RuntimeError(RuntimeErrorCode.CONFLICT, `could not ${what}: ${detail}`, { cause: error });
  const retryAfter = Number((error as { headers?: Record<string, string> } | null)?.headers?.['retry-after']);
  const suffix = status === null ? `the Kubernetes API is not reachable: ${detail}` : `the Kubernetes API answered ${status}: ${detail}`;
  return new RuntimeError(RuntimeErrorCode.UNAVAILABLE, `could not ${what}: ${suffix}`, { cause: error, retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined });
}
