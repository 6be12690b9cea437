import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import {
  ENVIRONMENTS_STREAM,
  type Envelope,
  environmentUpdatedV1,
  launcherCreatedV1,
  launcherCreatedV2,
  launcherDeletedV1,
  launcherUpdatedV1,
  launcherUpdatedV2,
  parseEnvelope,
  projectDeletedV1,
  projectMemberRemovedV1,
  projectMemberSetV1,
  projectUpsertedV1,
  projectUpsertedV2,
} from '@launchpad/contracts';
import { applyOnce, DurableConsumers, OutboxWriter, PermanentMessageError } from '@launchpad/messaging';
import { DataSource, type EntityManager, Not } from 'typeorm';
import { SessionEntity } from '../sessions/session.entity.js';
import { SessionTransitions } from '../sessions/session-transitions.js';
import { CatalogueService } from './catalogue.service.js';

type Apply = (manager: EntityManager, envelope: Envelope) => Promise<void>;

/** Keeps the catalogue read model from `environments.*` events (transport: durable consumers). */
@Injectable()
export class CatalogueProjection implements OnApplicationBootstrap {
  constructor(
    private readonly dataSource: DataSource,
    private readonly consumers: DurableConsumers,
    private readonly catalogue: CatalogueService,
    private readonly transitions: SessionTransitions,
    private readonly outbox: OutboxWriter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.consume('sessions-launchers', 'environments.launcher.>', async (manager, envelope) => {
      const launcherContract = [launcherCreatedV2, launcherUpdatedV2, launcherCreatedV1, launcherUpdatedV1].find((c) => is(envelope, c));
      if (launcherContract) {
        await this.catalogue.upsertLauncher(manager, parseEnvelope(launcherContract, envelope).data);
      } else if (is(envelope, launcherDeletedV1)) {
        const { id } = parseEnvelope(launcherDeletedV1, envelope).data;
        await this.catalogue.deleteLauncher(manager, id);
        await this.retireSessionsOf(manager, id);
      } else {
        unknownEvent(envelope);
      }
    });
    await this.consume('sessions-environments', 'environments.environment.>', async (manager, envelope) => {
      if (is(envelope, environmentUpdatedV1)) await this.catalogue.updateEnvironment(manager, parseEnvelope(environmentUpdatedV1, envelope).data);
      // Created and deleted global environments change no launcher: launchers carry their own copy.
    });
    await this.consume('sessions-projects', 'environments.project.>', async (manager, envelope) => {
      if (is(envelope, projectUpsertedV2)) await this.catalogue.upsertProject(manager, parseEnvelope(projectUpsertedV2, envelope).data);
      else if (is(envelope, projectUpsertedV1)) await this.catalogue.upsertProject(manager, parseEnvelope(projectUpsertedV1, envelope).data);
      else if (is(envelope, projectDeletedV1)) await this.catalogue.deleteProject(manager, parseEnvelope(projectDeletedV1, envelope).data.id);
      else if (is(envelope, projectMemberSetV1)) await this.catalogue.setMember(manager, parseEnvelope(projectMemberSetV1, envelope).data);
      else if (is(envelope, projectMemberRemovedV1)) {
        const { projectId, userId } = parseEnvelope(projectMemberRemovedV1, envelope).data;
        await this.catalogue.removeMember(manager, projectId, userId);
      } else unknownEvent(envelope);
    });
  }

  private async consume(durable: string, subject: string, apply: Apply): Promise<void> {
    await this.consumers.start({
      stream: ENVIRONMENTS_STREAM.name,
      durable,
      filterSubjects: [subject],
      handler: async (envelope) => {
        const applied = await applyOnce(this.dataSource, durable, envelope.id, (manager) => apply(manager, envelope));
        if (applied) this.outbox.flush();
      },
    });
  }

  /** A deleted launcher's sessions have nothing left to run: they are stopped and deleted. */
  private async retireSessionsOf(manager: EntityManager, launcherId: string): Promise<void> {
    const rows = await manager.find(SessionEntity, { where: { launcherId, desiredState: Not('deleted' as const) }, lock: { mode: 'pessimistic_write' } });
    for (const row of rows) {
      await this.transitions.record(manager, row, {
        status: 'stopping',
        desiredState: 'deleted',
        phase: 'stopping',
        message: `stopping: launcher "${row.name}" was deleted, so this session and its files are deleted too`,
      });
    }
  }
}

function is(envelope: Envelope, contract: { type: string; version: number }): boolean {
  return envelope.type === contract.type && envelope.version === contract.version;
}

function unknownEvent(envelope: Envelope): never {
  // Parked on the dead-letter stream, to be replayed once this service understands it.
  throw new PermanentMessageError(`sessions does not understand ${envelope.type} v${envelope.version}`);
}
