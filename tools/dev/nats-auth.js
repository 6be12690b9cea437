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

/**
 * The JetStream streams each service makes sure exist (its own, the ones it reads, DEADLETTER) and
 * the ones it reads with durable consumers (libs/messaging; see each service's NatsModule.forRoot).
 */
export const NATS_STREAMS = {
  environments: { ensures: ['ENVIRONMENTS', 'DEADLETTER'], consumes: ['BUILDS'] },
  sessions: { ensures: ['SESSIONS', 'ENVIRONMENTS', 'DEADLETTER'], consumes: ['ENVIRONMENTS'] },
  apps: { ensures: ['APPS', 'ENVIRONMENTS', 'DEADLETTER'], consumes: ['ENVIRONMENTS'] },
  builds: { ensures: ['BUILDS', 'ENVIRONMENTS', 'DEADLETTER'], consumes: ['ENVIRONMENTS'] },
};

/**
 * JetStream's API, narrowed to the service's streams: the account info, looking up, making and
 * updating the streams it ensures, making, updating, reading and acking its durable consumers on
 * the streams it reads, and parking poison messages (`deadletter.>`). No service may delete or
 * purge a stream, delete a message, or read a stream it does not consume.
 * @param {string} service
 */
export function jetstreamPermissions(service) {
  const streams = NATS_STREAMS[/** @type {keyof typeof NATS_STREAMS} */ (service)];
  if (!streams) throw new Error(`no JetStream streams for "${service}"`);
  const ensure = streams.ensures.flatMap((s) => [`$JS.API.STREAM.INFO.${s}`, `$JS.API.STREAM.CREATE.${s}`, `$JS.API.STREAM.UPDATE.${s}`]);
  const consume = streams.consumes.flatMap((s) => [
    `$JS.API.STREAM.INFO.${s}`,
    // nats.js names the consumer (and its filter) in the subject; older servers take the DURABLE form.
    `$JS.API.CONSUMER.CREATE.${s}`,
    `$JS.API.CONSUMER.CREATE.${s}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${s}.>`,
    `$JS.API.CONSUMER.INFO.${s}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${s}.>`,
    `$JS.ACK.${s}.>`,
  ]);
  return ['$JS.API.INFO', ...new Set([...ensure, ...consume]), 'deadletter.>'];
}

/** The read RPCs a service forwards its caller on (the callee still authorises that caller). */
const FORWARDED_READS = {
  environments: [],
  sessions: ['environments.rpc.launcher.get-with-project', 'environments.rpc.launcher.secret-values', 'environments.rpc.project.get', 'environments.rpc.environment.list', 'builds.rpc.build.image-for-commit'],
  apps: ['environments.rpc.launcher.get', 'environments.rpc.project.get'],
  builds: ['environments.rpc.project.get'],
};

export function natsPermissions(service) {
  const inbox = `${inboxOf(service)}.>`;
  switch (service) {
    case 'gateway':
      return {
        publish: { allow: ['environments.rpc.>', 'sessions.rpc.>', 'apps.rpc.>', 'builds.rpc.>', 'sessions.signal.activity'] },
        // apps.logs.>: the batches of app log streams it follows, each acknowledged (a response);
        // environments.environment.>: what drops its copy of the catalogue (EnvironmentList).
        subscribe: { allow: [inbox, 'sessions.session.>', 'apps.logs.>', 'environments.environment.>'] },
        allow_responses: true,
      };
    case 'environments':
      return {
        publish: { allow: ['environments.environment.>', 'environments.launcher.>', 'environments.project.>', ...jetstreamPermissions('environments')] },
        subscribe: { allow: ['environments.rpc.>', inbox] },
        allow_responses: true,
      };
    case 'sessions':
      return {
        publish: { allow: ['sessions.session.>', ...FORWARDED_READS.sessions, ...jetstreamPermissions('sessions')] },
        subscribe: {
          // Its own sessions.session.starting/stopping too: one replica's change wakes the leader's reconciler.
          allow: ['sessions.rpc.>', 'sessions.signal.activity', 'sessions.session.starting', 'sessions.session.stopping', inbox, 'environments.environment.>', 'environments.launcher.>', 'environments.project.>', 'builds.build.>'],
        },
        allow_responses: true,
      };
    case 'apps':
      return {
        publish: { allow: ['apps.app.>', 'apps.signal.>', 'apps.logs.>', ...FORWARDED_READS.apps, ...jetstreamPermissions('apps')] },
        subscribe: { allow: ['apps.rpc.>', 'apps.signal.>', inbox] },
        allow_responses: true,
      };
    case 'builds':
      return {
        publish: { allow: ['builds.build.>', 'builds.gitlab.>', ...FORWARDED_READS.builds, ...jetstreamPermissions('builds')] },
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
    // `$NAME`: the server reads the password from its environment (deploy/nats/auth.conf).
    const value = password.startsWith('$') ? password : quote(password);
    return `    { user: ${quote(user)}, password: ${value}${permissions} }`;
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

/** The environment variable a server running deploy/nats/auth.conf reads a service's password from. */
export const natsPasswordVariable = (service) => `${service.toUpperCase()}_NATS_PASSWORD`;

/**
 * The `authorization` block for a NATS server that Launchpad does not start (docker compose, a
 * cluster): the same users and permissions, each password read from the server's environment
 * (`GATEWAY_NATS_PASSWORD`, ...). `node tools/dev/nats-auth.js > deploy/nats/auth.conf` writes it;
 * tools/checks/nats-auth-config.spec.ts keeps the committed file equal to it.
 */
export function deployedNatsAuthorization() {
  return `# Written by tools/dev/nats-auth.js (node tools/dev/nats-auth.js > deploy/nats/auth.conf): do not edit.
# A user per Launchpad service with its subject permissions; each password comes from the server's
# environment (${NATS_SERVICES.map(natsPasswordVariable).join(', ')}),
# the same values the services get as NATS_PASSWORD. No anonymous access.
${natsAuthorization(Object.fromEntries(NATS_SERVICES.map((s) => [s, `$${natsPasswordVariable(s)}`])))}`;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) process.stdout.write(deployedNatsAuthorization());
