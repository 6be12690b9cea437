/**
 * One stream per owning service. The subjects are listed per aggregate, never `<service>.>`,
 * because `<service>.rpc.*` request subjects must not be captured by a stream: JetStream would
 * answer a request with its publish acknowledgement.
 */
export interface StreamDefinition {
  readonly name: string;
  readonly subjects: readonly string[];
}

export const ENVIRONMENTS_STREAM: StreamDefinition = {
  name: 'ENVIRONMENTS',
  subjects: ['environments.environment.>', 'environments.launcher.>', 'environments.project.>'],
};

export const SESSIONS_STREAM: StreamDefinition = {
  name: 'SESSIONS',
  subjects: ['sessions.session.>'],
};

/** Build records (`builds.build.<status>`) and what GitLab's system hooks said (`builds.gitlab.*`). */
export const BUILDS_STREAM: StreamDefinition = {
  name: 'BUILDS',
  subjects: ['builds.build.>', 'builds.gitlab.>'],
};

/** App lifecycle (`apps.app.activated|deactivated|scaled|failed`); `apps.signal.*` stays core NATS. */
export const APPS_STREAM: StreamDefinition = {
  name: 'APPS',
  subjects: ['apps.app.>'],
};

/** Parked messages: `deadletter.<stream>.<consumer>`, with the error in headers. */
export const DEADLETTER_STREAM: StreamDefinition = {
  name: 'DEADLETTER',
  subjects: ['deadletter.>'],
};

export function deadLetterSubject(stream: string, consumer: string): string {
  return `deadletter.${stream}.${consumer}`;
}
