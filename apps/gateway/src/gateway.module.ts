import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { MessagingModule, NatsModule } from '@launchpad/messaging';
import { TelemetryModule } from '@launchpad/telemetry';
import { AppProxy } from './app-proxy/app-proxy.js';
import { AppLogStream } from './apps/app-logs.stream.js';
import { AppsController } from './apps/apps.controller.js';
import { AuthGuard } from './auth/auth.guard.js';
import { GATEWAY_CONFIG, TokenVerifier } from './auth/token-verifier.js';
import { BuildsController } from './builds/builds.controller.js';
import type { GatewayConfig } from './config.js';
import { EnvironmentList } from './environments/environment-list.js';
import { EnvironmentsController } from './environments/environments.controller.js';
import { LaunchersController } from './launchers/launchers.controller.js';
import { ProblemDetailsFilter } from './problems/problem.filter.js';
import { UserStreams } from './http/user-streams.js';
import { ProjectsController } from './projects/projects.controller.js';
import { WebhooksController } from './webhooks/webhooks.controller.js';
import { ResourcePoolsController } from './resource-pools/resource-pools.controller.js';
import { SessionProxy } from './session-proxy/session-proxy.js';
import { SessionEventFeed } from './sessions/session-event-feed.js';
import { SessionProgressStream } from './sessions/session-progress.stream.js';
import { SessionsController } from './sessions/sessions.controller.js';
import { SecretsController } from './secrets/secrets.controller.js';
import { DataConnectorsController } from './secrets/data-connectors.controller.js';
import { UserDataConnectorsController } from './secrets/user-data-connectors.controller.js';

@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        TelemetryModule.forRoot({ service: 'gateway', logLevel: config.logLevel, ownAccessLog: true }),
        NatsModule.forRoot({ url: config.nats.url, credentials: config.nats.credentials, name: 'gateway', streams: [] }),
        MessagingModule.forClient(config.rpcTimeoutMs),
      ],
      controllers: [EnvironmentsController, ProjectsController, LaunchersController, BuildsController, WebhooksController, SessionsController, ResourcePoolsController, AppsController, SecretsController, DataConnectorsController, UserDataConnectorsController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        TokenVerifier,
        EnvironmentList,
        SessionEventFeed,
        SessionProgressStream,
        SessionProxy,
        AppProxy,
        AppLogStream,
        UserStreams,
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
      ],
    };
  }
}
