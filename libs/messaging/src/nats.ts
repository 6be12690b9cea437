import { type DynamicModule, Global, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { AuthorizationError, credsAuthenticator, type NatsConnection, UserAuthenticationExpiredError } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { StreamDefinition } from '@launchpad/contracts';
import { HealthRegistry } from '@launchpad/telemetry';
import { ensureStreams, type StreamSettings } from './streams.js';

export const NATS_CONNECTION = Symbol('NATS_CONNECTION');

const connectedState = new WeakMap<NatsConnection, boolean>();

/** Whether the client is connected now (false while it reconnects after a server restart). */
export function isNatsConnected(nc: NatsConnection): boolean {
  return !nc.isClosed() && connectedState.get(nc) !== false;
}

/** How a service proves who it is to NATS: a user and password, a token, or a credentials file (JWT + nkey). */
export interface NatsCredentials {
  user?: string;
  password?: string;
  token?: string;
  /** Path to a `.creds` file. */
  credsFile?: string;
}

/**
 * The NATS server refused the service's credentials. Retrying cannot help (the client gives up
 * after the same refusal twice), so the service says which server, which credentials and what to
 * check, and exits rather than wait on a connection that will never come back.
 */
export class NatsAuthError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NatsAuthError';
  }
}

/** Who the service said it was, in words (never the secret itself). */
function whoOf(credentials: NatsCredentials): { who: string; check: string } {
  if (credentials.credsFile !== undefined) return { who: `the credentials in ${credentials.credsFile}`, check: 'NATS_CREDS (the .creds file of this service\'s NATS user)' };
  if (credentials.token !== undefined) return { who: 'the token in NATS_TOKEN', check: 'NATS_TOKEN' };
  if (credentials.user !== undefined) return { who: `user "${credentials.user}"`, check: 'NATS_USER and NATS_PASSWORD (or NATS_PASSWORD_FILE)' };
  return { who: 'a client without credentials', check: 'NATS_USER and NATS_PASSWORD (or NATS_PASSWORD_FILE, NATS_TOKEN, NATS_CREDS): this server takes no anonymous client' };
}

/** The refusal an operator reads when `error` is NATS refusing our credentials; null for any other error. */
export function natsAuthFailure(error: unknown, url: string, credentials: NatsCredentials): NatsAuthError | null {
  if (!(error instanceof AuthorizationError) && !(error instanceof UserAuthenticationExpiredError)) return null;
  const { who, check } = whoOf(credentials);
  return new NatsAuthError(
    `NATS at ${url} refused ${who} (${error.message}): check ${check} against the server's users (npm start and the test harness write them from tools/dev/nats-auth.js; docs/configuration.md, "NATS credentials")`,
    { cause: error },
  );
}

/** The inbox a service's replies arrive on: its own, so NATS permissions can keep others from reading them. */
export const inboxPrefixOf = (name: string) => `_INBOX_${name}`;

/**
 * Connects and keeps reconnecting forever: a NATS restart must not take the service down, and
 * subscriptions are re-established by the client when the server is back. Replies come to
 * `_INBOX_<name>.>`, the one inbox the service's NATS user may subscribe to.
 *
 * Credentials the server refuses are the exception: the first connection rejects with a
 * NatsAuthError naming the server, the user and what to check, and a connection that the server
 * later refuses (a rotated password, an expired JWT) closes, which `onClosedByError` hears (a
 * service exits, see NatsModule).
 */
export async function connectNats(
  url: string,
  name: string,
  logger = new Logger('Nats'),
  credentials: NatsCredentials = {},
  onClosedByError: (error: Error) => void = () => undefined,
): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(','),
    name,
    inboxPrefix: inboxPrefixOf(name),
    ...(credentials.user !== undefined ? { user: credentials.user, pass: credentials.password ?? '' } : {}),
    ...(credentials.token !== undefined ? { token: credentials.token } : {}),
    // Read again on every (re)connect, so a rotated file is picked up.
    ...(credentials.credsFile !== undefined ? { authenticator: credsAuthenticator(() => readFileSync(credentials.credsFile!)) } : {}),
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
    // Otherwise every request() builds an Error (a stack trace) up front, in case it times out:
    // about 5 % of the gateway's CPU per API call. Our errors name the subject and the service.
    noAsyncTraces: true,
  }).catch((error: unknown) => {
    throw natsAuthFailure(error, url, credentials) ?? error;
  });
  logger.log(`connected to NATS at ${nc.getServer()}`);
  void nc.closed().then((error) => {
    // Closed by us (drain at shutdown) resolves with nothing; the client closes on its own only
    // when it will not reconnect: a refusal of our credentials, or a server error.
    if (!error) return;
    const failure = natsAuthFailure(error, url, credentials) ?? new Error(`the NATS connection to ${url} closed and will not reconnect: ${error.message}`, { cause: error });
    logger.error(failure.message);
    onClosedByError(failure);
  });
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') connectedState.set(nc, false);
      if (status.type === 'reconnect') connectedState.set(nc, true);
      if (status.type === 'disconnect') logger.warn(`disconnected from NATS ${status.server ?? ''}; reconnecting`);
      else if (status.type === 'reconnect') logger.log(`reconnected to NATS ${status.server ?? ''}`);
      else if (status.type === 'error') logger.error(`NATS error: ${String((status as { error?: unknown }).error)}`);
    }
  })();
  return nc;
}

@Injectable()
class NatsLifecycle implements OnApplicationShutdown {
  constructor(private readonly nc: NatsConnection) {}
  async onApplicationShutdown(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}

export interface NatsModuleOptions {
  url: string;
  name: string;
  credentials?: NatsCredentials;
  /** Streams this service owns; created or updated at start-up. */
  streams: readonly StreamDefinition[];
  /** When the connection closes for good (credentials refused): by default the process exits (1). */
  onClosedByError?: (error: Error) => void;
  streamSettings?: StreamSettings;
}

/** Ends the process with one fatal line naming the failure (written directly: the logger may buffer). */
export function exitOnLostNats(service: string): (error: Error) => void {
  return (error) => {
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service, msg: error.message })}\n`);
    process.exit(1);
  };
}

@Global()
@Module({})
export class NatsModule {
  static forRoot(options: NatsModuleOptions): DynamicModule {
    return {
      module: NatsModule,
      providers: [
        {
          provide: NATS_CONNECTION,
          inject: [HealthRegistry],
          useFactory: async (health: HealthRegistry) => {
            const logger = new Logger('Nats');
            // A service without NATS serves nothing, and this one will not get it back by waiting:
            // it exits, saying why, for its supervisor (npm start, compose, Kubernetes) to report.
            const nc = await connectNats(options.url, options.name, logger, options.credentials, options.onClosedByError ?? exitOnLostNats(options.name));
            if (options.streams.length > 0) await ensureStreams(await jetstreamManager(nc), options.streams, options.streamSettings);
            health.register('nats', () => {
              if (nc.isClosed()) throw new Error('NATS connection closed');
              if (!isNatsConnected(nc)) throw new Error(`not connected to NATS (reconnecting to ${options.url})`);
            });
            return nc;
          },
        },
        { provide: NatsLifecycle, inject: [NATS_CONNECTION], useFactory: (nc: NatsConnection) => new NatsLifecycle(nc) },
      ],
      exports: [NATS_CONNECTION],
    };
  }
}

/**
 * A core message's JSON body, or undefined when it is not JSON. A subscription callback must never
 * throw: nats.js runs it inside its reader, and an exception there stops the connection reading.
 */
export function jsonOf(msg: { json(): unknown }): unknown {
  try {
    return msg.json();
  } catch {
    return undefined;
  }
}

/** The `data.id` of an event envelope received on a core subscription, if it has one. */
export function eventDataId(msg: { json(): unknown }): string | undefined {
  const id = (jsonOf(msg) as { data?: { id?: unknown } } | undefined)?.data?.id;
  return typeof id === 'string' ? id : undefined;
}
