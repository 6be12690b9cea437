import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Status, Subscription } from '@nats-io/nats-core';
import { ENVIRONMENT_EVENTS_SUBJECT, environmentsRpc as rpc, type environmentSearchSchema, type Principal } from '@launchpad/contracts';
import { NATS_CONNECTION, RpcClient } from '@launchpad/messaging';
import type { z } from 'zod';
import { ReadThroughCache } from '../http/read-through-cache.js';
import { weakEtag } from '../http/weak-etag.js';

/**
 * How long a list is answered from this gateway's copy at most: the bound on how stale a list can
 * be when the event that would have said it changed never arrived (a write the environments
 * service made without one, such as a migration; a message lost to a slow consumer). Normally a
 * change is heard within milliseconds of its commit (the outbox relay publishes it).
 */
export const LIST_KEPT_FOR_MS = 5_000;
/** Searches kept at most (`q` is free text): the oldest goes first. */
const LISTS_KEPT = 256;

export type EnvironmentQuery = z.output<typeof environmentSearchSchema>;

/** A list as the API answers it: the JSON body's bytes and their ETag, made once per copy. */
export interface ListBody {
  readonly bytes: Buffer;
  readonly etag: string;
}

/**
 * The environments catalogue (`GET /environments`), read through a copy in this gateway: the
 * catalogue's hottest read, the same for every signed-in caller (global environments only; the
 * environments service does not look at the caller for it), which changes only when an admin
 * changes an environment.
 *
 * The copy is dropped on every `environments.environment.*` event (each replica hears them all:
 * a plain subscription, not a queue group), on every change made through this gateway (so the
 * caller who made it reads it at once, before its event arrives), and kept at most
 * LIST_KEPT_FOR_MS. Nothing is kept while the gateway is not (yet) subscribed or is disconnected
 * from NATS, when events could be missed. The caller must be authenticated before asking.
 */
@Injectable()
export class EnvironmentList implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(EnvironmentList.name);
  private readonly cache = new ReadThroughCache<ListBody>(LIST_KEPT_FOR_MS, LISTS_KEPT);
  private subscription: Subscription | undefined;
  private statuses: AsyncIterator<Status> | undefined;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly rpc: RpcClient,
  ) {
    this.cache.pause();
  }

  async onApplicationBootstrap(): Promise<void> {
    let refused = false;
    this.subscription = this.nc.subscribe(ENVIRONMENT_EVENTS_SUBJECT, {
      callback: (error) => {
        if (!error) return this.cache.invalidate();
        // Not allowed to hear the events (its NATS user's permissions): nothing is kept, every list is asked for.
        refused = true;
        this.cache.pause();
        this.logger.error(`cannot subscribe to ${ENVIRONMENT_EVENTS_SUBJECT} (${error.message}): every environment list is asked of the environments service`);
      },
    });
    const statuses = this.nc.status()[Symbol.asyncIterator]();
    this.statuses = statuses;
    void (async () => {
      for (let next = await statuses.next(); !next.done; next = await statuses.next()) {
        // Events published while disconnected are not delivered later: keep nothing until back,
        // and nothing from before.
        if (next.value.type === 'disconnect') this.cache.pause();
        else if (next.value.type === 'reconnect' && !refused) this.cache.resume();
      }
    })();
    // Once the server has the subscription (or has refused it: its error comes before the flush's
    // answer), every change from then on is heard.
    await this.nc.flush();
    if (!refused) this.cache.resume();
  }

  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
    void this.statuses?.return?.();
    this.cache.pause();
  }

  list(caller: Principal, query: EnvironmentQuery): Promise<ListBody> {
    return this.cache.get(keyOf(query), async () => {
      const reply = await this.rpc.call(rpc.listEnvironments, { caller, query });
      const bytes = Buffer.from(JSON.stringify(reply));
      return { bytes, etag: weakEtag(bytes) };
    });
  }

  /** The list of `query` if this gateway has a copy of it now (nothing is asked). */
  kept(query: EnvironmentQuery): ListBody | undefined {
    return this.cache.peek(keyOf(query));
  }

  /** An environment was (or may have been) changed through this gateway. */
  changed(): void {
    this.cache.invalidate();
  }
}

/**
 * One key per distinct search, as validated (every field of the schema, in its order; a missing
 * `includeArchived` and `false` are kept apart: no guessing the callee's defaults).
 */
function keyOf(query: EnvironmentQuery): string {
  return JSON.stringify(query);
}
