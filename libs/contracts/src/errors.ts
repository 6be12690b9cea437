/**
 * Error codes are the only way a service tells the gateway (or a consumer) what went wrong.
 * The gateway maps every code to an HTTP status in one exhaustive switch, so a code added here
 * without a mapping fails to compile there.
 */
export enum CommonErrorCode {
  VALIDATION_FAILED = 'VALIDATION_FAILED',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  ROUTE_NOT_FOUND = 'ROUTE_NOT_FOUND',
  METHOD_NOT_ALLOWED = 'METHOD_NOT_ALLOWED',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE',
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL = 'INTERNAL',
  /** A secret was to be stored or used, but the service has no SECRETS_ENCRYPTION_KEYS. */
  SECRETS_NOT_CONFIGURED = 'SECRETS_NOT_CONFIGURED',
  /** A state-changing request or WebSocket to a session or app from a page of another origin. */
  CROSS_ORIGIN_FORBIDDEN = 'CROSS_ORIGIN_FORBIDDEN',
  /** A user holds as many server-sent event streams as allowed. */
  TOO_MANY_STREAMS = 'TOO_MANY_STREAMS',
}

export enum EnvironmentsErrorCode {
  ENVIRONMENT_NOT_FOUND = 'ENVIRONMENT_NOT_FOUND',
  ENVIRONMENT_NAME_TAKEN = 'ENVIRONMENT_NAME_TAKEN',
  ENVIRONMENT_IN_USE = 'ENVIRONMENT_IN_USE',
  DEFAULT_ENVIRONMENT_REQUIRED = 'DEFAULT_ENVIRONMENT_REQUIRED',
  PROJECT_NOT_FOUND = 'PROJECT_NOT_FOUND',
  LAUNCHER_NOT_FOUND = 'LAUNCHER_NOT_FOUND',
  LAUNCHER_NAME_TAKEN = 'LAUNCHER_NAME_TAKEN',
  INSUFFICIENT_PROJECT_ROLE = 'INSUFFICIENT_PROJECT_ROLE',
  ADMIN_REQUIRED = 'ADMIN_REQUIRED',
  /** A launcher made from code names a branch or commit the project's CI has built no image for (yet). */
  BUILD_NOT_AVAILABLE = 'BUILD_NOT_AVAILABLE',
  /** update-to-latest on a launcher that is not made from code. */
  NOT_A_CODE_LAUNCHER = 'NOT_A_CODE_LAUNCHER',
  /** A new launcher (or a launcher moving to it) names an archived global environment. */
  ENVIRONMENT_ARCHIVED = 'ENVIRONMENT_ARCHIVED',
  /** A project holds as many launchers as this installation allows (LAUNCHERS_PER_PROJECT). */
  LAUNCHER_LIMIT_REACHED = 'LAUNCHER_LIMIT_REACHED',
  /** A project names a repository the runtimes would not clone (REPOSITORY_HOSTS, https/ssh only, file:// in development). */
  REPOSITORY_NOT_ALLOWED = 'REPOSITORY_NOT_ALLOWED',
}

export enum SessionsErrorCode {
  SESSION_NOT_FOUND = 'SESSION_NOT_FOUND',
  NOT_A_SESSION_LAUNCHER = 'NOT_A_SESSION_LAUNCHER',
  SESSION_NOT_RUNNING = 'SESSION_NOT_RUNNING',
  /** Asked of a running session what only a hibernated one can do (resume with another class). */
  SESSION_NOT_HIBERNATED = 'SESSION_NOT_HIBERNATED',
  RESOURCE_POOL_NOT_FOUND = 'RESOURCE_POOL_NOT_FOUND',
  RESOURCE_POOL_NAME_TAKEN = 'RESOURCE_POOL_NAME_TAKEN',
  RESOURCE_POOL_IN_USE = 'RESOURCE_POOL_IN_USE',
  RESOURCE_POOL_NOT_ALLOWED = 'RESOURCE_POOL_NOT_ALLOWED',
  RESOURCE_CLASS_NOT_FOUND = 'RESOURCE_CLASS_NOT_FOUND',
  RESOURCE_CLASS_ID_TAKEN = 'RESOURCE_CLASS_ID_TAKEN',
  RESOURCE_CLASS_IN_USE = 'RESOURCE_CLASS_IN_USE',
  QUOTA_EXCEEDED = 'QUOTA_EXCEEDED',
  DEFAULT_POOL_REQUIRED = 'DEFAULT_POOL_REQUIRED',
  /** diskStorageGb above what the resource class allows (its maxStorageGb). */
  DISK_STORAGE_NOT_ALLOWED = 'DISK_STORAGE_NOT_ALLOWED',
  SECRET_NOT_FOUND = 'SECRET_NOT_FOUND',
  SECRET_NAME_TAKEN = 'SECRET_NAME_TAKEN',
  SECRET_SLOT_NOT_FOUND = 'SECRET_SLOT_NOT_FOUND',
  /** Another slot of the project has this name or filename. */
  SECRET_SLOT_TAKEN = 'SECRET_SLOT_TAKEN',
  DATA_CONNECTOR_NOT_FOUND = 'DATA_CONNECTOR_NOT_FOUND',
  /** Another connector of the project has this name or target path. */
  DATA_CONNECTOR_TAKEN = 'DATA_CONNECTOR_TAKEN',
  /** Two connectors a session would mount (its project's, the user's own) have one target path. */
  DATA_CONNECTOR_TARGET_CLASH = 'DATA_CONNECTOR_TARGET_CLASH',
  /** The caller already holds as many sessions in the pool as one user may (the pool's maxSessionsPerUser). */
  SESSION_LIMIT_REACHED = 'SESSION_LIMIT_REACHED',
}

export enum BuildsErrorCode {
  BUILD_NOT_FOUND = 'BUILD_NOT_FOUND',
  /** The X-Gitlab-Token of a webhook delivery is missing or wrong (or no secret is set up for it). */
  WEBHOOK_TOKEN_INVALID = 'WEBHOOK_TOKEN_INVALID',
  /** The delivery is JSON but not a GitLab payload we can read (e.g. it names no project). */
  WEBHOOK_PAYLOAD_INVALID = 'WEBHOOK_PAYLOAD_INVALID',
  /** Setting a project's webhook secret needs maintainer or owner in it, or admin. */
  WEBHOOK_SECRET_FORBIDDEN = 'WEBHOOK_SECRET_FORBIDDEN',
}

export enum AppsErrorCode {
  /** Activating an app from a launcher of kind `session`. */
  NOT_AN_APP_LAUNCHER = 'NOT_AN_APP_LAUNCHER',
}

export type ErrorCode = CommonErrorCode | EnvironmentsErrorCode | SessionsErrorCode | BuildsErrorCode | AppsErrorCode;

export const ALL_ERROR_CODES: readonly ErrorCode[] = [
  ...Object.values(CommonErrorCode),
  ...Object.values(EnvironmentsErrorCode),
  ...Object.values(SessionsErrorCode),
  ...Object.values(BuildsErrorCode),
  ...Object.values(AppsErrorCode),
];

export interface ErrorDetail {
  /** Where in the input the problem is, e.g. `environment.image`. Empty for the whole input. */
  path: string;
  message: string;
}

/** What travels back over an RPC reply (and into problem+json) when a use case refuses. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  details?: ErrorDetail[];
}

/** Base of every domain error. Use cases throw these, never HTTP exceptions. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = new.target.name;
  }

  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export class EnvironmentsError extends DomainError {
  constructor(code: EnvironmentsErrorCode | CommonErrorCode.SECRETS_NOT_CONFIGURED | CommonErrorCode.VALIDATION_FAILED, message: string, details?: ErrorDetail[]) {
    super(code, message, details);
  }
}

export class SessionsError extends DomainError {
  constructor(code: SessionsErrorCode | EnvironmentsErrorCode | CommonErrorCode.SECRETS_NOT_CONFIGURED | CommonErrorCode.VALIDATION_FAILED, message: string, details?: ErrorDetail[]) {
    super(code, message, details);
  }
}

export class BuildsError extends DomainError {
  constructor(code: BuildsErrorCode, message: string, details?: ErrorDetail[]) {
    super(code, message, details);
  }
}

export class AppsError extends DomainError {
  constructor(code: AppsErrorCode | EnvironmentsErrorCode | CommonErrorCode, message: string, details?: ErrorDetail[]) {
    super(code, message, details);
  }
}

export function assertUnreachable(value: never): never {
  throw new Error(`unhandled value: ${String(value)}`);
}
