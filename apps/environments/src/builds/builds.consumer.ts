import { Injectable, Logger } from '@nestjs/common';
import { ALL_BUILD_EVENTS, type Envelope, parseEnvelope } from '@launchpad/contracts';
import { applyOnce, OutboxWriter, PermanentMessageError } from '@launchpad/messaging';
import { DataSource } from 'typeorm';
import { LaunchersService } from '../launchers/launchers.service.js';
import { launchersLock } from '../locks.js';
import { ProjectBuilds } from './project-builds.js';

export const BUILDS_DURABLE = 'environments-builds';
const contracts = new Map(ALL_BUILD_EVENTS.map((c) => [`${c.type}@${c.version}`, c]));

/**
 * `builds.build.*`: keeps the read model of project builds, and with each change of a build of a
 * branch flags the launchers pinned to a commit older than the branch's newest succeeded build
 * (*update available*) — a build that succeeds, or a pinned commit whose pipeline becomes known —
 * both in one transaction with the processed-message row, so a redelivery changes nothing.
 */
@Injectable()
export class BuildsConsumer {
  private readonly logger = new Logger(BuildsConsumer.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly builds: ProjectBuilds,
    private readonly launchers: LaunchersService,
  ) {}

  async handle(envelope: Envelope): Promise<void> {
    const contract = contracts.get(`${envelope.type}@${envelope.version}`);
    if (!contract) throw new PermanentMessageError(`${BUILDS_DURABLE} does not know ${envelope.type} v${envelope.version}`);
    const build = parseEnvelope(contract, envelope).data;
    let flagged = 0;
    // The lock order (locks.ts): the project's launcher lock before the build's row, which
    // offerUpdate would otherwise take after it, against deleteProject taking them the other way.
    // It is taken with the processed-message row, and the build is recorded in the next statement,
    // which so sees every launcher pinned to the branch as it is under the lock.
    const lock = !build.tag && build.ref !== null ? launchersLock(build.projectId) : undefined;
    await applyOnce(
      this.dataSource,
      BUILDS_DURABLE,
      envelope.id,
      async (manager) => {
        const { recorded, pinned } = await this.builds.recordSeeingPins(manager, build);
        // With no launcher pinned to the branch, offerUpdate has nothing to flag: its two reads are skipped.
        if (recorded && pinned) flagged = await this.launchers.offerUpdate(manager, build);
      },
      { lock },
    );
    if (flagged > 0) {
      this.outbox.flush();
      this.logger.log(`build ${build.sha.slice(0, 8)} of project ${build.projectId} is ${build.status}: ${flagged} launcher(s) flagged update available`);
    }
  }
}
