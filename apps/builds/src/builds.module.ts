import { type DynamicModule, Module } from '@nestjs/common';
import { BUILDS_STREAM, DEADLETTER_STREAM, ENVIRONMENTS_STREAM } from '@launchpad/contracts';
import { ProjectPathsConsumer } from './webhooks/project-paths.consumer.js';
import { CreateMessagingTables1764000000000, MessagingModule, NatsModule } from '@launchpad/messaging';
import { PersistenceModule } from '@launchpad/persistence';
import { TelemetryModule } from '@launchpad/telemetry';
import { BuildEntity } from './builds/build.entity.js';
import { BuildsRpcController } from './builds/builds.rpc-controller.js';
import { BuildsService } from './builds/builds.service.js';
import { CreateBuilds1764000001200 } from './builds/migrations/1764000001200-CreateBuilds.js';
import { MultiplePipelinesAndKeyedSecrets1764000001210 } from './builds/migrations/1764000001210-MultiplePipelinesAndKeyedSecrets.js';
import { AddBranchPipeline1764000001220 } from './builds/migrations/1764000001220-AddBranchPipeline.js';
import { AddBuildOfCommit1764000001240 } from './builds/migrations/1764000001240-AddBuildOfCommit.js';
import { AddWebhookSecretProjectVersion1764000001230 } from './webhooks/migrations/1764000001230-AddWebhookSecretProjectVersion.js';
import { BUILDS_CONFIG, type BuildsConfig } from './config.js';
import { GitLabSyncService } from './gitlab-sync/gitlab-sync.service.js';
import { GitLabApi } from './repair/gitlab-api.js';
import { RepairLoop } from './repair/repair-loop.js';
import { ReceiveWebhook } from './webhooks/receive-webhook.usecase.js';
import { WebhookSecrets } from './webhooks/webhook-secrets.js';
import { WebhooksRpcController } from './webhooks/webhooks.rpc-controller.js';

export const buildsEntities = [BuildEntity];
export const buildsMigrations = [
  CreateMessagingTables1764000000000,
  CreateBuilds1764000001200,
  MultiplePipelinesAndKeyedSecrets1764000001210,
  AddBranchPipeline1764000001220,
  AddWebhookSecretProjectVersion1764000001230,
  AddBuildOfCommit1764000001240,
];

@Module({})
export class BuildsModule {
  static forRoot(config: BuildsConfig): DynamicModule {
    return {
      module: BuildsModule,
      imports: [
        TelemetryModule.forRoot({ service: 'builds', logLevel: config.logLevel }),
        PersistenceModule.forRoot({
          url: config.database.url,
          schema: config.database.schema,
          runMigrations: config.database.runMigrations,
          entities: buildsEntities,
          migrations: buildsMigrations,
          applicationName: 'launchpad-builds',
        }),
        // ENVIRONMENTS too, for the project renames it follows (ProjectPathsConsumer), so builds may start first.
        NatsModule.forRoot({ url: config.nats.url, credentials: config.nats.credentials, name: 'builds', streams: [BUILDS_STREAM, ENVIRONMENTS_STREAM, DEADLETTER_STREAM] }),
        MessagingModule.forService({ queueGroup: 'builds', outbox: config.outbox }),
      ],
      controllers: [WebhooksRpcController, BuildsRpcController],
      providers: [{ provide: BUILDS_CONFIG, useValue: config }, BuildsService, GitLabSyncService, WebhookSecrets, ReceiveWebhook, GitLabApi, RepairLoop, ProjectPathsConsumer],
    };
  }
}
