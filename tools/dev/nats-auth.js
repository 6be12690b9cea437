// Who may say what on NATS: one user per service, each with the subjects it needs and no more.
// `npm start` (when it starts its own nats-server) and the test harness (every e2e suite) write a
// nats-server configuration from this table. Workloads get no credentials at all, so nothing a
// session or app runs can connect.
//
// What the permissions guarantee:
// - only the gateway sends RPC requests that carry a user's caller (`<service>.rpc.>`); a
//   service may send only the few read RPCs it forwards its own request's caller on (a launch
//   reads the launcher and project *as the user*), never one that changes anything;
// - only the apps service publishes `apps.signal.>` (route, wake, concurrency) and `apps.logs.>`
//   (followed app logs), and only the gateway reads `apps.logs.>`;
// - every service publishes only into its own stream's subjects, and subscribes only to its own
//   RPCs and inbox (`_INBOX_<service>.>`, the inbox prefix its connection uses), so none can read or
//   answer another's requests;
// - `allow_responses` lets a service answer the requests it received, and nothing else.
import { randomBytes } from 'node:crypto';

export const NATS_SERVICES = ['gateway', 'environments', 'sessions', 'apps', 'builds'];

/** The inbox prefix a service's connection uses (libs/messaging connectNats: `_INBOX_<name>`). */
export const inboxOf = (service) => `_INBOX_${service}`;

// JetStream: stream and consumer management, pull requests, acks, and parking poison messages.
const JETSTREAM = ['$JS.API.>', '$JS.ACK.>', 'deadletter.>'];

/** The read RPCs a service forwards its caller on (the callee still authorises that caller). */
const FORWARDED_READS = {
  environments: [],
  sessions: ['environments.rpc.launcher.get', 'environments.rpc.launcher.secret-values', 'environments.rpc.project.get', 'environments.rpc.environment.list', 'builds.rpc.build.image-for-commit'],
  apps: ['environments.rpc.launcher.get', 'environments.rpc.project.get'],
  builds: ['environments.rpc.project.get'],
};

export function natsPermissions(service) {
  const inbox = `${inboxOf(service)}.>`;
  switch (service) {
    case 'gateway':
      return {
        publish: { allow: ['environments.rpc.>', 'sessions.rpc.>', 'apps.rpc.>', 'builds.rpc.>', 'sessions.signal.activity'] },
        // apps.logs.>: the batches of app log streams it follows, each acknowledged (a response).
        subscribe: { allow: [inbox, 'sessions.session.>', 'apps.logs.>'] },
        allow_responses: true,
      };
    case 'environments':
      return {
        publish: { allow: ['environments.environment.>', 'environments.launcher.>', 'environments.project.>', ...JETSTREAM] },
        subscribe: { allow: ['environments.rpc.>', inbox] },
        allow_responses: true,
      };
    case 'sessions':
      return {
        publish: { allow: ['sessions.session.>', ...FORWARDED_READS.sessions, ...JETSTREAM] },
        subscribe: {
          allow: ['sessions.rpc.>', 'sessions.signal.activity', inbox, 'environments.environment.>', 'environments.launcher.>', 'environments.project.>', 'builds.build.>'],
        },
        allow_responses: true,
      };
    case 'apps':
      return {
        publish: { allow: ['apps.app.>', 'apps.signal.>', 'apps.logs.>', ...FORWARDED_READS.apps, ...JETSTREAM] },
        subscribe: { allow: ['apps.rpc.>', 'apps.signal.>', inbox] },
        allow_responses: true,
      };
    case 'builds':
      return {
        publish: { allow: ['builds.build.>', 'builds.gitlab.>', ...FORWARDED_READS.builds, ...JETSTREAM] },
        subscribe: { allow: ['builds.rpc.>', inbox] },
        allow_responses: true,
      };
    default:
      throw new Error(`no NATS permissions for "${service}"`);
  }
}

/**
 * A random password per service (and for `extraUsers`, e.g. a test's own unrestricted client).
 * @param {string[]} [extraUsers]
 * @returns {Record<string, string>}
 */
export function natsPasswords(extraUsers = []) {
  return Object.fromEntries([...NATS_SERVICES, ...extraUsers].map((user) => [user, randomBytes(24).toString('base64url')]));
}

const quote = (text) => JSON.stringify(text);

function permissionsBlock(permissions) {
  const list = (items) => `[${items.map(quote).join(', ')}]`;
  const lines = [`publish: { allow: ${list(permissions.publish.allow)} }`, `subscribe: { allow: ${list(permissions.subscribe.allow)} }`];
  if (permissions.allow_responses) lines.push('allow_responses: true');
  return `{ ${lines.join(', ')} }`;
}

/**
 * The `authorization` block of a nats-server configuration: a user per service with its
 * permissions, and `unrestricted` users (a test's own client) with none. No anonymous access.
 * @param {Record<string, string>} passwords
 * @param {string[]} [unrestricted]
 */
export function natsAuthorization(passwords, unrestricted = []) {
  const users = Object.entries(passwords).map(([user, password]) => {
    const permissions = unrestricted.includes(user) ? '' : `, permissions: ${permissionsBlock(natsPermissions(user))}`;
    return `    { user: ${quote(user)}, password: ${quote(password)}${permissions} }`;
  });
  return `authorization {\n  users: [\n${users.join('\n')}\n  ]\n}\n`;
}

/**
 * A whole nats-server configuration with JetStream and the authorization above.
 * @param {{ host: string, port: number, storeDir: string, passwords: Record<string, string>, unrestricted?: string[] }} options
 */
export function natsServerConfig({ host, port, storeDir, passwords, unrestricted = [] }) {
  return `# Written by Launchpad (tools/dev/nats-auth.js); holds passwords: keep it 0600.
host: ${quote(host)}
port: ${port}
jetstream { store_dir: ${quote(storeDir)} }
${natsAuthorization(passwords, unrestricted)}`;
}
