import { type DynamicModule, Inject, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { DEADLETTER_STREAM, ENVIRONMENTS_STREAM } from '@launchpad/contracts';
import { CreateMessagingTables1764000000000, MessagingModule, NatsModule } from '@launchpad/messaging';
import { PersistenceModule, SecretBox } from '@launchpad/persistence';
import { TelemetryModule } from '@launchpad/telemetry';
import type { EnvironmentsConfig } from './config.js';
import { BuildsConsumer } from './builds/builds.consumer.js';
import { AddBuildBranchPipeline1764000000600 } from './builds/migrations/1764000000600-AddBuildBranchPipeline.js';
import { ProjectBuildEntity } from './builds/project-build.entity.js';
import { ProjectBuilds } from './builds/project-builds.js';
import { BuildsStreamConsumers } from './builds/builds-stream-consumers.js';
import { EnvironmentEntity } from './environments/environment.entity.js';
import { EnvironmentsRpcController } from './environments/environments.rpc-controller.js';
import { EnvironmentsService } from './environments/environments.service.js';
import { CreateEnvironments1764000000100 } from './environments/migrations/1764000000100-CreateEnvironments.js';
import { AddEnvironmentAuth1764000000712 } from './environments/migrations/1764000000712-AddEnvironmentAuth.js';
import { JupyterKeepsItsPort1764000002300 } from './environments/migrations/1764000002300-JupyterKeepsItsPort.js';
import { GitLabConsumer } from './gitlab/gitlab.consumer.js';
import { GitLabProjection } from './gitlab/gitlab-projection.js';
import { GitLabPlaces } from './gitlab/gitlab-places.js';
import { CreateGitLabPlaces1764000000810 } from './gitlab/migrations/1764000000810-CreateGitLabPlaces.js';
import { LauncherEntity } from './launchers/launcher.entity.js';
import { LaunchersRpcController } from './launchers/launchers.rpc-controller.js';
import { LaunchersService } from './launchers/launchers.service.js';
import { CreateLaunchers1764000000300 } from './launchers/migrations/1764000000300-CreateLaunchers.js';
import { AddLaunchersFromCode1764000000500 } from './launchers/migrations/1764000000500-AddLaunchersFromCode.js';
import { AddLauncherThresholds1764000000861 } from './launchers/migrations/1764000000861-AddLauncherThresholds.js';
import { AddLaunchersPinnedTo1764000002310 } from './launchers/migrations/1764000002310-AddLaunchersPinnedTo.js';
import { AddLauncherVariablesAndArchive1764000000711 } from './launchers/migrations/1764000000711-AddLauncherVariablesAndArchive.js';
import { LAUNCHER_SECRETS } from './launchers/launcher-variables.js';
import { LAUNCHER_LIMITS } from './launchers/launcher-limits.js';
import { CreateProjects1764000000200 } from './projects/migrations/1764000000200-CreateProjects.js';
import { AddProjectRepositories1764000000400 } from './projects/migrations/1764000000400-AddProjectRepositories.js';
import { AddRowVersions1764000000800 } from './projects/migrations/1764000000800-AddRowVersions.js';
import { ProjectEntity, ProjectMemberEntity } from './projects/project.entity.js';
import { ProjectsRpcController } from './projects/projects.rpc-controller.js';
import { ProjectsService } from './projects/projects.service.js';
import { REPOSITORY_POLICY } from './projects/repository-policy.js';

export const ENVIRONMENTS_CONFIG = Symbol('ENVIRONMENTS_CONFIG');

export const environmentsEntities = [EnvironmentEntity, ProjectEntity, ProjectMemberEntity, LauncherEntity, ProjectBuildEntity];
export const environmentsMigrations = [
  CreateMessagingTables1764000000000,
  CreateEnvironments1764000000100,
  CreateProjects1764000000200,
  CreateLaunchers1764000000300,
  AddProjectRepositories1764000000400,
  AddLaunchersFromCode1764000000500,
  AddBuildBranchPipeline1764000000600,
  AddLauncherVariablesAndArchive1764000000711,
  AddEnvironmentAuth1764000000712,
  AddRowVersions1764000000800,
  CreateGitLabPlaces1764000000810,
  AddLauncherThresholds1764000000861,
  JupyterKeepsItsPort1764000002300,
  AddLaunchersPinnedTo1764000002310,
];

@Module({})
export class EnvironmentsModule implements OnApplicationBootstrap {
  private readonly logger = new Logger(EnvironmentsModule.name);
  constructor(
    private readonly environments: EnvironmentsService,
    private readonly launchers: LaunchersService,
    @Inject(ENVIRONMENTS_CONFIG) private readonly config: EnvironmentsConfig,
  ) {}

  static forRoot(config: EnvironmentsConfig): DynamicModule {
    return {
      module: EnvironmentsModule,
      imports: [
        TelemetryModule.forRoot({ service: 'environments', logLevel: config.logLevel }),
        PersistenceModule.forRoot({
          url: config.database.url,
          schema: config.database.schema,
          runMigrations: config.database.runMigrations,
          entities: environmentsEntities,
          migrations: environmentsMigrations,
          applicationName: 'launchpad-environments',
        }),
        // DEADLETTER: where its durable consumers park what they cannot apply.
        NatsModule.forRoot({ url: config.nats.url, credentials: config.nats.credentials, name: 'environments', streams: [ENVIRONMENTS_STREAM, DEADLETTER_STREAM] }),
        MessagingModule.forService({ queueGroup: 'environments', outbox: config.outbox }),
      ],
      controllers: [EnvironmentsRpcController, ProjectsRpcController, LaunchersRpcController],
      providers: [
        { provide: ENVIRONMENTS_CONFIG, useValue: config },
        { provide: LAUNCHER_SECRETS, useValue: new SecretBox(config.secretKeys) },
        { provide: LAUNCHER_LIMITS, useValue: config.limits.launchers },
        { provide: REPOSITORY_POLICY, useValue: config.repositoryPolicy },
        EnvironmentsService,
        ProjectsService,
        LaunchersService,
        ProjectBuilds,
        BuildsConsumer,
        GitLabPlaces,
        GitLabProjection,
        GitLabConsumer,
        BuildsStreamConsumers,
      ],
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.environments.seedDefault(this.config.defaultEnvironmentImage);
    // A rotated key (a new first entry of SECRETS_ENCRYPTION_KEYS): re-wrap what older keys sealed,
    // after which the old key can be dropped from the list. Idempotent, so every replica may try.
    const rewrapped = await this.launchers.rewrapSecrets();
    if (rewrapped > 0) this.logger.log(`re-wrapped the secret variables of ${rewrapped} launcher(s) with key ${this.config.secretKeys[0]?.id}`);
  }
}
