import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BUILD_EVENTS, BUILDS_STREAM, type Envelope, parseEnvelope } from '@launchpad/contracts';
import { applyOnce, DurableConsumers, OutboxWriter, PermanentMessageError } from '@launchpad/messaging';
import { DataSource } from 'typeorm';
import { LaunchersService } from '../launchers/launchers.service.js';
import { ProjectBuilds } from './project-builds.js';
import { startWhenStreamExists } from './stream-consumer.js';

const DURABLE = 'environments-builds';
const contracts = new Map(Object.values(BUILD_EVENTS).map((c) => [`${c.type}@${c.version}`, c]));

/**
 * Keeps the read model of project builds from `builds.build.*`, and when a build succeeds, flags
 * the launchers pinned to an older build of its branch (*update available*): both in one
 * transaction with the processed-message row, so a redelivery changes nothing.
 */
@Injectable()
export class BuildsConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BuildsConsumer.name);
  private starter: { stop(): void } | undefined;

  constructor(
    private readonly consumers: DurableConsumers,
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly builds: ProjectBuilds,
    private readonly launchers: LaunchersService,
  ) {}

  onApplicationBootstrap(): void {
    this.starter = startWhenStreamExists(
      this.consumers,
      { stream: BUILDS_STREAM.name, durable: DURABLE, filterSubjects: ['builds.build.>'], backoffMs: [500, 2000, 10000], handler: (e) => this.handle(e) },
      this.logger,
    );
  }

  onApplicationShutdown(): void {
    this.starter?.stop();
  }

  async handle(envelope: Envelope): Promise<void> {
    const contract = contracts.get(`${envelope.type}@${envelope.version}`);
    if (!contract) throw new PermanentMessageError(`${DURABLE} does not know ${envelope.type} v${envelope.version}`);
    const build = parseEnvelope(contract, envelope).data;
    let flagged = 0;
    await applyOnce(this.dataSource, DURABLE, envelope.id, async (manager) => {
      if (await this.builds.record(manager, build)) flagged = await this.launchers.offerUpdate(manager, build);
    });
    if (flagged > 0) {
      this.outbox.flush();
      this.logger.log(`build ${build.sha.slice(0, 8)} of project ${build.projectId} succeeded: ${flagged} launcher(s) flagged update available`);
    }
  }
}
