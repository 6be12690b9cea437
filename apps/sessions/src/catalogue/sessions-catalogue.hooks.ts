import { Injectable } from '@nestjs/common';
import { CatalogueService, type CatalogueChange, type CatalogueHooks } from '@launchpad/catalogue';
import { advisoryLock } from '@launchpad/persistence';
import { In, Not } from 'typeorm';
import { launcherLock } from '../locks.js';
import { SessionEntity } from '../sessions/session.entity.js';
import { SessionTransitions } from '../sessions/session-transitions.js';

/** What the sessions service does when its read model of launchers changes. */
@Injectable()
export class SessionsCatalogueHooks implements CatalogueHooks {
  constructor(
    private readonly transitions: SessionTransitions,
    private readonly catalogue: CatalogueService,
  ) {}

  /**
   * Someone who may no longer read a private project keeps no running session in it: each is
   * hibernated (its files kept, should access come back); resuming asks environments again.
   */
  async memberRemoved({ manager }: CatalogueChange, projectId: string, userId: string): Promise<void> {
    const project = await this.catalogue.project(manager, projectId);
    if (project && project.visibility !== 'private') return;
    const rows = await manager.find(SessionEntity, {
      where: { projectId, userId, desiredState: 'running', status: In(['starting', 'running', 'failed']) },
      lock: { mode: 'pessimistic_write' },
    });
    for (const row of rows) {
      await this.transitions.record(manager, row, {
        status: 'stopping',
        desiredState: 'hibernated',
        phase: 'hibernating',
        message: `hibernating: you are no longer a member of project ${project?.path ?? projectId}; its files are kept`,
        hibernationReason: `membership of project ${project?.path ?? projectId} removed`,
      });
    }
  }

  /** A deleted launcher's sessions have nothing left to run: they are stopped and deleted. */
  async launcherDeleted({ manager }: CatalogueChange, launcherId: string): Promise<void> {
    // Waits for launches of this launcher under way (they hold the lock shared): their sessions are
    // then visible here; launches after this see the tombstone.
    await advisoryLock(manager, launcherLock(launcherId));
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
