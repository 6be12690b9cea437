import { Injectable, Logger } from '@nestjs/common';
import { ALL_BUILD_EVENTS, type Envelope, parseEnvelope } from '@launchpad/contracts';
import { applyOnce, applyOnceInOneStatement, OutboxWriter, PermanentMessageError } from '@launchpad/messaging';
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
    // The lock order (locks.ts): the project's launcher lock before the build's row, which
    // offerUpdate would otherwise take after it, against deleteProject taking them the other way.
    const lock = !build.tag && build.ref !== null ? launchersLock(build.projectId) : undefined;
    // One statement when no launcher is pinned to the branch (offerUpdate would flag none): the
    // lock, the processed-message row and the build. launchers_pinned_to reads after the lock, so
    // it sees every launcher committed while the lock was awaited (their writers hold it).
    const once = await applyOnceInOneStatement(this.dataSource, BUILDS_DURABLE, envelope.id, {
      effect: this.builds.recordStatement(build),
      lock,
      unless: lock === undefined ? undefined : { sql: `launchers_pinned_to($1, $2)`, params: [build.projectId, build.ref] },
    });
    if (once !== 'declined') return;
    let flagged = 0;
    await applyOnce(
      this.dataSource,
      BUILDS_DURABLE,
      envelope.id,
      async (manager) => {
        const { recorded, pinned } = await this.builds.recordSeeingPins(manager, build);
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
