import { type DynamicModule, Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { DEADLETTER_STREAM, ENVIRONMENTS_STREAM, SESSIONS_STREAM } from '@launchpad/contracts';
import { CreateMessagingTables1764000000000, MessagingModule, NatsModule } from '@launchpad/messaging';
import { PersistenceModule, SecretBox } from '@launchpad/persistence';
import { TelemetryModule } from '@launchpad/telemetry';
import { catalogueEntities, catalogueMigrations, catalogueProviders } from '@launchpad/catalogue';
import { SessionsCatalogueHooks } from './catalogue/sessions-catalogue.hooks.js';
import type { SessionsConfig } from './config.js';
import { ImageBuildGate } from './reconciler/image-build-gate.js';
import { sessionRuntimeProvider } from './reconciler/runtime.provider.js';
import { SESSIONS_CONFIG, SessionReconciler } from './reconciler/session-reconciler.js';
import { CreateResourcePools1764000001100 } from './resource-pools/migrations/1764000001100-CreateResourcePools.js';
import { AddMaxSessionsPerUser1764000001451 } from './resource-pools/migrations/1764000001451-AddMaxSessionsPerUser.js';
import { AddClassPlacement1764000001470 } from './resource-pools/migrations/1764000001470-AddClassPlacement.js';
import { ResourceClassEntity, ResourcePoolEntity, ResourcePoolUserEntity } from './resource-pools/resource-pool.entity.js';
import { ResourcePoolsRpcController } from './resource-pools/resource-pools.rpc-controller.js';
import { ResourcePoolsService } from './resource-pools/resource-pools.service.js';
import { POOL_LIMITS } from './resource-pools/tokens.js';
import { CreateSessions1764000001300 } from './sessions/migrations/1764000001300-CreateSessions.js';
import { AddSessionSecretEnv1764000001411 } from './sessions/migrations/1764000001411-AddSessionSecretEnv.js';
import { AddSessionDisk1764000001412 } from './sessions/migrations/1764000001412-AddSessionDisk.js';
import { AddIdleThresholds1764000001441 } from './sessions/migrations/1764000001441-AddIdleThresholds.js';
import { AddActivitySeen1764000001461 } from './sessions/migrations/1764000001461-AddActivitySeen.js';
import { AddLaunchTimings1764000001471 } from './sessions/migrations/1764000001471-AddLaunchTimings.js';
import { LaunchTimings } from './launch-estimates/launch-timings.js';
import { ActivityProbe } from './culling/activity-probe.js';
import { CheckIdleSession } from './culling/check-idle-session.usecase.js';
import { SessionDiskWatch } from './sessions/session-disk-watch.js';
import { CreateSecrets1764000001421 } from './secrets/migrations/1764000001421-CreateSecrets.js';
import { secretEntities } from './secrets/secret.entity.js';
import { SecretsRpcController } from './secrets/secrets.rpc-controller.js';
import { SecretsService } from './secrets/secrets.service.js';
import { dataConnectorEntities } from './data-connectors/data-connector.entity.js';
import { DataConnectorsRpcController } from './data-connectors/data-connectors.rpc-controller.js';
import { DataConnectorsService } from './data-connectors/data-connectors.service.js';
import { CreateDataConnectors1764000001431 } from './data-connectors/migrations/1764000001431-CreateDataConnectors.js';
import { AddUserDataConnectors1764000001481 } from './data-connectors/migrations/1764000001481-AddUserDataConnectors.js';
import { UserDataConnectorsRpcController } from './data-connectors/user-data-connectors.rpc-controller.js';
import { UserDataConnectorsService } from './data-connectors/user-data-connectors.service.js';
import { SESSION_SECRETS } from './sessions/session-env.js';
import { AddSessionSecret1764000001410 } from './sessions/migrations/1764000001410-AddSessionSecret.js';
import { SessionActivitySubscriber } from './sessions/session-activity.subscriber.js';
import { SessionEntity, SessionProgressEntity } from './sessions/session.entity.js';
import { SessionTransitions } from './sessions/session-transitions.js';
import { SessionWakeups } from './sessions/session-wakeups.js';
import { SessionsRpcController } from './sessions/sessions.rpc-controller.js';
import { SessionsService } from './sessions/sessions.service.js';
import { SESSIONS_CULLING } from './sessions/tokens.js';

export const sessionsEntities = [
  ResourcePoolEntity,
  ResourceClassEntity,
  ResourcePoolUserEntity,
  ...catalogueEntities,
  SessionEntity,
  SessionProgressEntity,
  ...secretEntities,
  ...dataConnectorEntities,
];
export const sessionsMigrations = [
  CreateMessagingTables1764000000000,
  ...catalogueMigrations,
  CreateResourcePools1764000001100,
  CreateSessions1764000001300,
  AddSessionSecretEnv1764000001411,
  AddSessionDisk1764000001412,
  CreateSecrets1764000001421,
  CreateDataConnectors1764000001431,
  AddIdleThresholds1764000001441,
  AddSessionSecret1764000001410,
  AddMaxSessionsPerUser1764000001451,
  AddActivitySeen1764000001461,
  AddClassPlacement1764000001470,
  AddLaunchTimings1764000001471,
  AddUserDataConnectors1764000001481,
];

@Module({})
export class SessionsModule implements OnApplicationBootstrap {
  constructor(
    private readonly pools: ResourcePoolsService,
    private readonly secrets: SecretsService,
    @Inject(SESSIONS_CONFIG) private readonly config: SessionsConfig,
  ) {}

  static forRoot(config: SessionsConfig): DynamicModule {
    return {
      module: SessionsModule,
      imports: [
        TelemetryModule.forRoot({ service: 'sessions', logLevel: config.logLevel }),
        PersistenceModule.forRoot({
          url: config.database.url,
          schema: config.database.schema,
          runMigrations: config.database.runMigrations,
          entities: sessionsEntities,
          migrations: sessionsMigrations,
          applicationName: 'launchpad-sessions',
        }),
        // ENVIRONMENTS is ensured here too, so this service can start (and consume) before environments
        // ever ran; DEADLETTER is where its consumers park what they cannot apply.
        NatsModule.forRoot({ url: config.nats.url, credentials: config.nats.credentials, name: 'sessions', streams: [SESSIONS_STREAM, ENVIRONMENTS_STREAM, DEADLETTER_STREAM] }),
        MessagingModule.forService({ queueGroup: 'sessions', outbox: config.outbox, rpcTimeoutMs: config.rpcTimeoutMs }),
      ],
      controllers: [SessionsRpcController, ResourcePoolsRpcController, SecretsRpcController, DataConnectorsRpcController, UserDataConnectorsRpcController],
      providers: [
        { provide: SESSIONS_CONFIG, useValue: config },
        { provide: SESSIONS_CULLING, useValue: config.culling },
        { provide: POOL_LIMITS, useValue: config.limits },
        { provide: SESSION_SECRETS, useValue: new SecretBox(config.secretKeys) },
        sessionRuntimeProvider,
        ResourcePoolsService,
        ...catalogueProviders({ service: 'sessions' }, SessionsCatalogueHooks),
        LaunchTimings,
        SessionTransitions,
        SessionWakeups,
        SessionsService,
        SessionDiskWatch,
        SecretsService,
        DataConnectorsService,
        UserDataConnectorsService,
        SessionActivitySubscriber,
        ImageBuildGate,
        { provide: ActivityProbe, useValue: new ActivityProbe() },
        CheckIdleSession,
        SessionReconciler,
      ],
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.pools.seedDefault(this.config.defaultPool);
    // A rotated SECRETS_ENCRYPTION_KEYS: users' secrets sealed with an older key get the new one
    // (idempotent, so every replica may try). Sessions' own sealed variables are sealed afresh at
    // their next launch or resume; until then the older key must stay listed.
    await this.secrets.rewrapAll();
  }
}
