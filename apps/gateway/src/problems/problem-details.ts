import { AppsErrorCode, assertUnreachable, BuildsErrorCode, CommonErrorCode, EnvironmentsErrorCode, type ErrorCode, type ErrorDetail, SessionsErrorCode } from '@launchpad/contracts';

/** RFC 9457 problem details, with our code and the request id for support. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  requestId: string;
  errors?: ErrorDetail[];
}

/** Every code has a status; adding a code without one here fails to compile. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case CommonErrorCode.VALIDATION_FAILED:
      return 400;
    case CommonErrorCode.UNAUTHENTICATED:
    case BuildsErrorCode.WEBHOOK_TOKEN_INVALID:
      return 401;
    case EnvironmentsErrorCode.ADMIN_REQUIRED:
    case EnvironmentsErrorCode.INSUFFICIENT_PROJECT_ROLE:
    case BuildsErrorCode.WEBHOOK_SECRET_FORBIDDEN:
    case SessionsErrorCode.RESOURCE_POOL_NOT_ALLOWED:
    case CommonErrorCode.CROSS_ORIGIN_FORBIDDEN:
      return 403;
    case CommonErrorCode.ROUTE_NOT_FOUND:
    case EnvironmentsErrorCode.ENVIRONMENT_NOT_FOUND:
    case EnvironmentsErrorCode.PROJECT_NOT_FOUND:
    case EnvironmentsErrorCode.LAUNCHER_NOT_FOUND:
    case BuildsErrorCode.BUILD_NOT_FOUND:
    case SessionsErrorCode.SESSION_NOT_FOUND:
    case SessionsErrorCode.RESOURCE_POOL_NOT_FOUND:
    case SessionsErrorCode.RESOURCE_CLASS_NOT_FOUND:
    case SessionsErrorCode.SECRET_NOT_FOUND:
    case SessionsErrorCode.SECRET_SLOT_NOT_FOUND:
    case SessionsErrorCode.DATA_CONNECTOR_NOT_FOUND:
      return 404;
    case CommonErrorCode.METHOD_NOT_ALLOWED:
      return 405;
    case EnvironmentsErrorCode.ENVIRONMENT_NAME_TAKEN:
    case EnvironmentsErrorCode.ENVIRONMENT_IN_USE:
    case EnvironmentsErrorCode.DEFAULT_ENVIRONMENT_REQUIRED:
    case EnvironmentsErrorCode.LAUNCHER_NAME_TAKEN:
    case EnvironmentsErrorCode.BUILD_NOT_AVAILABLE:
    case EnvironmentsErrorCode.NOT_A_CODE_LAUNCHER:
    case SessionsErrorCode.NOT_A_SESSION_LAUNCHER:
    case SessionsErrorCode.SESSION_NOT_RUNNING:
    case SessionsErrorCode.SESSION_NOT_HIBERNATED:
    case SessionsErrorCode.RESOURCE_POOL_NAME_TAKEN:
    case SessionsErrorCode.RESOURCE_POOL_IN_USE:
    case SessionsErrorCode.RESOURCE_CLASS_ID_TAKEN:
    case SessionsErrorCode.RESOURCE_CLASS_IN_USE:
    case SessionsErrorCode.QUOTA_EXCEEDED:
    case SessionsErrorCode.DEFAULT_POOL_REQUIRED:
    case AppsErrorCode.NOT_AN_APP_LAUNCHER:
    case EnvironmentsErrorCode.ENVIRONMENT_ARCHIVED:
    case SessionsErrorCode.DISK_STORAGE_NOT_ALLOWED:
    case SessionsErrorCode.SECRET_NAME_TAKEN:
    case SessionsErrorCode.SECRET_SLOT_TAKEN:
    case SessionsErrorCode.DATA_CONNECTOR_TAKEN:
    case SessionsErrorCode.DATA_CONNECTOR_TARGET_CLASH:
    case SessionsErrorCode.SESSION_LIMIT_REACHED:
    case EnvironmentsErrorCode.LAUNCHER_LIMIT_REACHED:
      return 409;
    case CommonErrorCode.PAYLOAD_TOO_LARGE:
      return 413;
    case CommonErrorCode.UNSUPPORTED_MEDIA_TYPE:
      return 415;
    case BuildsErrorCode.WEBHOOK_PAYLOAD_INVALID:
    case EnvironmentsErrorCode.REPOSITORY_NOT_ALLOWED:
      return 422;
    case CommonErrorCode.TOO_MANY_STREAMS:
      return 429;
    case CommonErrorCode.INTERNAL:
      return 500;
    case CommonErrorCode.SERVICE_UNAVAILABLE:
    case CommonErrorCode.SECRETS_NOT_CONFIGURED:
      return 503;
    default:
      return assertUnreachable(code);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function toProblem(input: { code: ErrorCode; message: string; details?: ErrorDetail[] | undefined; instance: string; requestId: string }): ProblemDetails {
  const status = httpStatusFor(input.code);
  return {
    type: `https://launchpad.dev/problems/${input.code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail: input.message,
    instance: input.instance,
    code: input.code,
    requestId: input.requestId,
    ...(input.details?.length ? { errors: input.details } : {}),
  };
}
