import { type DynamicModule, Module } from '@nestjs/common';
import { catalogueEntities, catalogueMigrations, catalogueProviders } from '@launchpad/catalogue';
import { APPS_STREAM, DEADLETTER_STREAM, ENVIRONMENTS_STREAM } from '@launchpad/contracts';
import { CreateMessagingTables1764000000000, MessagingModule, NatsModule } from '@launchpad/messaging';
import { PersistenceModule } from '@launchpad/persistence';
import { TelemetryModule } from '@launchpad/telemetry';
import { Activator } from './activator/activator.js';
import { AppEntity } from './apps/app.entity.js';
import { AppsCatalogueHooks, AppsRpcController } from './apps/apps.rpc-controller.js';
import { AppLogFollows } from './apps/app-log-follow.js';
import { AppsService } from './apps/apps.service.js';
import { CreateApps1764000002100 } from './apps/migrations/1764000002100-CreateApps.js';
import { UnforgeableSlugs1764000002200 } from './apps/migrations/1764000002200-UnforgeableSlugs.js';
import { APPS_CONFIG, type AppsConfig } from './config.js';
import { CommandResolver } from './procfile/command-resolver.js';
import { ProcfileReader } from './procfile/procfile-reader.js';
import { Leadership } from './replicas/leadership.js';
import { ReplicaReconciler } from './replicas/replica-reconciler.js';
import { appRuntimeProvider } from './replicas/runtime.provider.js';
import { Routes } from './routing/route-source.js';
import { AppScaler } from './scaler/app-scaler.js';
import { ConcurrencyCollector } from './scaler/concurrency-collector.js';

export const appsEntities = [...catalogueEntities, AppEntity];
export const appsMigrations = [CreateMessagingTables1764000000000, ...catalogueMigrations, CreateApps1764000002100, UnforgeableSlugs1764000002200];

@Module({})
export class AppsModule {
  static forRoot(config: AppsConfig): DynamicModule {
    return {
      module: AppsModule,
      imports: [
        TelemetryModule.forRoot({ service: 'apps', logLevel: config.logLevel }),
        PersistenceModule.forRoot({
          url: config.database.url,
          schema: config.database.schema,
          runMigrations: config.database.runMigrations,
          entities: appsEntities,
          migrations: appsMigrations,
          applicationName: 'launchpad-apps',
        }),
        // ENVIRONMENTS is ensured here too, so this service can start (and consume) before
        // environments ever ran; DEADLETTER is where its consumers park what they cannot apply.
        NatsModule.forRoot({ url: config.nats.url, credentials: config.nats.credentials, name: 'apps', streams: [APPS_STREAM, ENVIRONMENTS_STREAM, DEADLETTER_STREAM] }),
        MessagingModule.forService({ queueGroup: 'apps', outbox: config.outbox, rpcTimeoutMs: config.rpcTimeoutMs }),
      ],
      controllers: [AppsRpcController],
      providers: [
        { provide: APPS_CONFIG, useValue: config },
        appRuntimeProvider,
        ...catalogueProviders({ service: 'apps' }, AppsCatalogueHooks),
        Routes,
        AppsService,
        AppLogFollows,
        ProcfileReader,
        CommandResolver,
        Leadership,
        ReplicaReconciler,
        ConcurrencyCollector,
        AppScaler,
        Activator,
      ],
    };
  }
}
