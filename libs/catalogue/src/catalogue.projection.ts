import { Inject, Injectable, type OnApplicationBootstrap, Optional, type Provider } from '@nestjs/common';
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
  projectDeletedV2,
  projectMemberRemovedV1,
  projectMemberRemovedV2,
  projectMemberSetV1,
  projectUpsertedV1,
  projectUpsertedV2,
} from '@launchpad/contracts';
import { applyOnce, DurableConsumers, OutboxWriter, PermanentMessageError } from '@launchpad/messaging';
import { DataSource, type EntityManager } from 'typeorm';
import { CATALOGUE_OPTIONS, type CatalogueOptions } from './catalogue.options.js';
import { CatalogueService } from './catalogue.service.js';

export const CATALOGUE_HOOKS = Symbol('CATALOGUE_HOOKS');

/** What happens in a change's own transaction; `afterCommit` runs once it committed. */
export interface CatalogueChange {
  manager: EntityManager;
  afterCommit(work: () => void): void;
}

/** A service's own reaction to catalogue changes, applied in the same transaction as the change. */
export interface CatalogueHooks {
  /** Called only when the deletion was news (not for a launcher already deleted here). */
  launcherDeleted?(change: CatalogueChange, launcherId: string): Promise<void>;
  /**
   * A member left a project (or was removed); the project's visibility says whether they can
   * still read it. Called only when the removal applied, i.e. was newer than anything held of the
   * membership: a late removal, after the member was added again, changes nothing.
   */
  memberRemoved?(change: CatalogueChange, projectId: string, userId: string): Promise<void>;
}

type Apply = (change: CatalogueChange, envelope: Envelope) => Promise<void>;

/**
 * Keeps the catalogue read model (launchers, projects, members) from `environments.*` events,
 * through three durable consumers, each message applied once and by version (apply-rule.ts), so
 * that any number of replicas may consume in any order; a service plugs in what it must do when a
 * launcher or a member goes (CATALOGUE_HOOKS).
 */
@Injectable()
export class CatalogueProjection implements OnApplicationBootstrap {
  constructor(
    private readonly dataSource: DataSource,
    private readonly consumers: DurableConsumers,
    private readonly catalogue: CatalogueService,
    private readonly outbox: OutboxWriter,
    @Inject(CATALOGUE_OPTIONS) private readonly options: CatalogueOptions,
    @Optional() @Inject(CATALOGUE_HOOKS) private readonly hooks: CatalogueHooks | null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.consume('launchers', 'environments.launcher.>', async (change, envelope) => {
      const launcherContract = [launcherCreatedV2, launcherUpdatedV2, launcherCreatedV1, launcherUpdatedV1].find((c) => is(envelope, c));
      if (launcherContract) {
        await this.catalogue.upsertLauncher(change.manager, parseEnvelope(launcherContract, envelope).data);
      } else if (is(envelope, launcherDeletedV1)) {
        const { id, projectId } = parseEnvelope(launcherDeletedV1, envelope).data;
        if (await this.catalogue.deleteLauncher(change.manager, id, projectId)) await this.hooks?.launcherDeleted?.(change, id);
      } else {
        this.unknownEvent(envelope);
      }
    });
    await this.consume('environments', 'environments.environment.>', async ({ manager }, envelope) => {
      if (is(envelope, environmentUpdatedV1)) await this.catalogue.updateEnvironment(manager, parseEnvelope(environmentUpdatedV1, envelope).data);
      // Created and deleted global environments change no launcher: launchers carry their own copy.
    });
    await this.consume('projects', 'environments.project.>', async (change, envelope) => {
      const { manager } = change;
      if (is(envelope, projectUpsertedV2)) await this.catalogue.upsertProject(manager, parseEnvelope(projectUpsertedV2, envelope).data);
      else if (is(envelope, projectUpsertedV1)) await this.catalogue.upsertProject(manager, parseEnvelope(projectUpsertedV1, envelope).data);
      else if (is(envelope, projectDeletedV2)) {
        const { id, version } = parseEnvelope(projectDeletedV2, envelope).data;
        await this.catalogue.deleteProject(manager, id, version, envelope.occurredAt);
      } else if (is(envelope, projectDeletedV1)) {
        // From before versions: applies over a copy as old only (see apply-rule.ts).
        await this.catalogue.deleteProject(manager, parseEnvelope(projectDeletedV1, envelope).data.id, 0, envelope.occurredAt);
      } else if (is(envelope, projectMemberSetV1)) await this.catalogue.setMember(manager, parseEnvelope(projectMemberSetV1, envelope).data);
      else if (is(envelope, projectMemberRemovedV2) || is(envelope, projectMemberRemovedV1)) {
        // v1, from before versions, reads as version 0: it removes only a membership held from then.
        const { projectId, userId, version } = is(envelope, projectMemberRemovedV2)
          ? parseEnvelope(projectMemberRemovedV2, envelope).data
          : { ...parseEnvelope(projectMemberRemovedV1, envelope).data, version: 0 };
        if (await this.catalogue.removeMember(manager, projectId, userId, version)) await this.hooks?.memberRemoved?.(change, projectId, userId);
      } else this.unknownEvent(envelope);
    });
  }

  private async consume(purpose: string, subject: string, apply: Apply): Promise<void> {
    const durable = `${this.options.service}-${purpose}`;
    await this.consumers.start({
      stream: ENVIRONMENTS_STREAM.name,
      durable,
      filterSubjects: [subject],
      handler: async (envelope) => {
        const after: (() => void)[] = [];
        const applied = await applyOnce(this.dataSource, durable, envelope.id, (manager) => apply({ manager, afterCommit: (work) => after.push(work) }, envelope));
        if (!applied) return;
        this.outbox.flush();
        for (const work of after) work();
      },
    });
  }

  private unknownEvent(envelope: Envelope): never {
    // Parked on the dead-letter stream, to be replayed once this service understands it.
    throw new PermanentMessageError(`${this.options.service} does not understand ${envelope.type} v${envelope.version}`);
  }
}

function is(envelope: Envelope, contract: { type: string; version: number }): boolean {
  return envelope.type === contract.type && envelope.version === contract.version;
}

/** The read model's providers for a service's module; `hooks` is a provider class of the service's own. */
export function catalogueProviders(options: CatalogueOptions, hooks?: new (...args: never[]) => CatalogueHooks): Provider[] {
  return [
    { provide: CATALOGUE_OPTIONS, useValue: options },
    CatalogueService,
    CatalogueProjection,
    ...(hooks ? [hooks, { provide: CATALOGUE_HOOKS, useExisting: hooks }] : []),
  ];
}
