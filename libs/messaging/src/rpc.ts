import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { type Msg, type NatsConnection, type Subscription, errors as natsErrors } from '@nats-io/nats-core';
import {
  CommonErrorCode,
  DomainError,
  type ErrorPayload,
  type RpcContract,
  type RpcReply,
  type RpcRequest,
  type RpcResponse,
  zodIssuesToDetails,
} from '@launchpad/contracts';
import { extractTraceContext, histogram, injectTraceContext, SpanKind, spansRecorded, withSpan } from '@launchpad/telemetry';
import { isConnectionError, isTransientDatabaseError, sqlStateOf } from '@launchpad/persistence';
import { z } from 'zod';
import { NATS_CONNECTION } from './nats.js';
import { fromNatsHeaders, toNatsHeaders } from './nats-headers.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const rpcServerSeconds = histogram('launchpad_rpc_server_seconds', 'Time to handle an RPC request', ['subject', 'outcome']);
const rpcClientSeconds = histogram('launchpad_rpc_client_seconds', 'Time from RPC request to reply', ['subject', 'outcome']);

/** Thrown by RpcClient: the callee's domain error, or SERVICE_UNAVAILABLE when nobody answered in time. */
export class RpcCallError extends DomainError {
  constructor(payload: ErrorPayload) {
    super(payload.code, payload.message, payload.details);
  }
}

@Injectable()
export class RpcClient {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject('RPC_DEFAULT_TIMEOUT_MS') private readonly defaultTimeoutMs: number,
  ) {}

  /** Sends a request and waits at most `timeoutMs` for its reply. */
  async call<C extends RpcContract>(contract: C, request: RpcRequest<C>, timeoutMs = this.defaultTimeoutMs): Promise<RpcResponse<C>> {
    const service = contract.subject.split('.')[0] ?? contract.subject;
    const end = rpcClientSeconds.startTimer({ subject: contract.subject });
    const send = async (): Promise<RpcResponse<C>> => {
      let msg: Msg;
      try {
        msg = await this.nc.request(contract.subject, encoder.encode(JSON.stringify(request)), {
          timeout: timeoutMs,
          headers: toNatsHeaders(injectTraceContext()),
        });
      } catch (error) {
        end({ outcome: 'unavailable' });
        throw new RpcCallError({ code: CommonErrorCode.SERVICE_UNAVAILABLE, message: unavailableMessage(service, error, timeoutMs) });
      }
      const reply = JSON.parse(decoder.decode(msg.data)) as RpcReply;
      if (!reply.ok) {
        end({ outcome: reply.error.code });
        throw new RpcCallError(reply.error);
      }
      end({ outcome: 'ok' });
      return contract.response.parse(reply.data) as RpcResponse<C>;
    };
    // A client span is kept only where spans are exported: without, it would only put an id of its
    // own in the traceparent, which no log line shows and nothing records; the callee's span is then
    // a child of the caller's active one, in the same trace.
    if (!spansRecorded()) return send();
    return withSpan(`rpc ${contract.subject}`, { kind: SpanKind.CLIENT, attributes: { 'messaging.destination.name': contract.subject } }, send);
  }
}

function unavailableMessage(service: string, error: unknown, timeoutMs: number): string {
  if (error instanceof natsErrors.NoRespondersError || (error as Error)?.cause instanceof natsErrors.NoRespondersError) {
    return `the ${service} service is not running (no instance answered); try again shortly`;
  }
  if (error instanceof natsErrors.TimeoutError || (error as Error)?.cause instanceof natsErrors.TimeoutError) {
    return `the ${service} service did not answer within ${timeoutMs} ms; try again shortly`;
  }
  return `the ${service} service could not be reached: ${(error as Error).message}`;
}

type Handler = (request: unknown) => Promise<unknown>;

const RPC_HANDLER = DiscoveryService.createDecorator<RpcContract>();

/** Marks a controller method as the handler of one RPC contract: `@RpcHandler(environmentsRpc.getLauncher)`. */
export const RpcHandler = RPC_HANDLER;

/** Turns any thrown value into the reply a caller can act on; unexpected errors are logged, not leaked. */
export function toErrorPayload(error: unknown, logger: Logger, subject: string): ErrorPayload {
  if (error instanceof DomainError) return error.toPayload();
  if (error instanceof z.ZodError) {
    const details = zodIssuesToDetails(error);
    return {
      code: CommonErrorCode.VALIDATION_FAILED,
      message: `invalid request: ${details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ')}`,
      details,
    };
  }
  if (isConnectionError(error)) {
    logger.error({ sqlState: sqlStateOf(error) }, `${subject}: database unavailable: ${(error as Error).message}`);
    return { code: CommonErrorCode.SERVICE_UNAVAILABLE, message: 'the database is unavailable; try again shortly' };
  }
  const sqlState = sqlStateOf(error);
  if (isTransientDatabaseError(error)) {
    // Still racing after the use case's own retries (a deadlock, a lock timeout): a 503 with
    // Retry-After, as it passes with time; the caller did nothing wrong.
    logger.error({ err: error, sqlState }, `${subject}: the database is busy (SQL state ${sqlState}): ${(error as Error).message}`);
    return { code: CommonErrorCode.SERVICE_UNAVAILABLE, message: 'the database is busy with other changes to the same things; try again shortly' };
  }
  logger.error({ err: error, ...(sqlState ? { sqlState } : {}) }, `${subject} failed unexpectedly${sqlState ? ` (SQL state ${sqlState})` : ''}`);
  return { code: CommonErrorCode.INTERNAL, message: 'an unexpected error occurred; it has been logged' };
}

/**
 * Finds every @RpcHandler method at start-up and serves it on its subject, in a queue group
 * named after the service so that replicas share the load.
 */
@Injectable()
export class RpcServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RpcServer.name);
  private readonly subscriptions: Subscription[] = [];

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    @Inject('RPC_QUEUE_GROUP') private readonly queue: string,
  ) {}

  onApplicationBootstrap(): void {
    for (const wrapper of [...this.discovery.getControllers(), ...this.discovery.getProviders()]) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      for (const method of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance))) {
        const contract = this.discovery.getMetadataByDecorator(RPC_HANDLER, wrapper, method);
        if (!contract) continue;
        const fn = (instance[method] as (req: unknown) => Promise<unknown>).bind(instance);
        this.serve(contract, fn);
      }
    }
  }

  serve(contract: RpcContract, handler: Handler): void {
    const sub = this.nc.subscribe(contract.subject, {
      queue: this.queue,
      callback: (err, msg) => {
        if (err) {
          this.logger.error(`subscription ${contract.subject} failed: ${err.message}`);
          return;
        }
        // handle() answers every failure itself; this only keeps a bug from ending the process.
        this.handle(contract, handler, msg).catch((error: unknown) => this.logger.error({ err: error }, `${contract.subject}: could not answer a request`));
      },
    });
    this.subscriptions.push(sub);
    this.logger.debug(`serving ${contract.subject}`);
  }

  private async handle(contract: RpcContract, handler: Handler, msg: Msg): Promise<void> {
    const end = rpcServerSeconds.startTimer({ subject: contract.subject });
    const parent = extractTraceContext(fromNatsHeaders(msg.headers));
    const reply = await withSpan(`rpc ${contract.subject}`, { kind: SpanKind.SERVER, parent }, async (): Promise<RpcReply> => {
      try {
        const request = contract.request.parse(JSON.parse(decoder.decode(msg.data)));
        const data = await handler(request);
        return { ok: true, data: contract.response.parse(data) };
      } catch (error) {
        return { ok: false, error: toErrorPayload(error, this.logger, contract.subject) };
      }
    });
    end({ outcome: reply.ok ? 'ok' : reply.error.code });
    if (msg.reply) this.respond(contract, msg, reply);
  }

  /**
   * Sends the reply; one that cannot be sent (larger than the server's max_payload: respond
   * throws) becomes an INTERNAL error, so that the caller hears something and nothing escapes.
   */
  private respond(contract: RpcContract, msg: Msg, reply: RpcReply): void {
    let bytes = 0;
    try {
      const data = encoder.encode(JSON.stringify(reply));
      bytes = data.length;
      msg.respond(data);
    } catch (error) {
      const tooLarge = bytes > 0;
      this.logger.error({ err: error }, `${contract.subject}: could not send the reply${tooLarge ? ` of ${bytes} bytes` : ''}: ${(error as Error).message}`);
      const failure: RpcReply = {
        ok: false,
        error: { code: CommonErrorCode.INTERNAL, message: tooLarge ? 'the reply was too large to send; ask for less' : 'the reply could not be sent; it has been logged' },
      };
      try {
        msg.respond(encoder.encode(JSON.stringify(failure)));
      } catch {
        // the connection is gone: the caller's deadline answers it
      }
    }
  }

  onApplicationShutdown(): void {
    for (const sub of this.subscriptions) sub.unsubscribe();
  }
}
