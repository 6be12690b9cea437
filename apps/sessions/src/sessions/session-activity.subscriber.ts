import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { SESSION_ACTIVITY_SUBJECT, sessionActivitySchema } from '@launchpad/contracts';
import { jsonOf, NATS_CONNECTION } from '@launchpad/messaging';
import { SessionsService } from './sessions.service.js';

/** Transport for the gateway's "someone used this session" signals (core NATS, one replica each). */
@Injectable()
export class SessionActivitySubscriber implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionActivitySubscriber.name);
  private subscription: Subscription | undefined;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly sessions: SessionsService,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.nc.subscribe(SESSION_ACTIVITY_SUBJECT, {
      queue: 'sessions',
      callback: (err, msg) => {
        if (err) return;
        const parsed = sessionActivitySchema.safeParse(jsonOf(msg));
        if (!parsed.success) {
          this.logger.warn(`ignoring a malformed activity signal: ${parsed.error.message}`);
          return;
        }
        this.sessions.touch(parsed.data.sessionId, new Date(parsed.data.at)).catch((error: unknown) => {
          this.logger.warn(`could not record activity of session ${parsed.data.sessionId}: ${(error as Error).message}`);
        });
      },
    });
  }

  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }
}
