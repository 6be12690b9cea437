import { Injectable } from '@nestjs/common';
import type { CatalogueChange, CatalogueHooks } from '@launchpad/catalogue';
import { Not } from 'typeorm';
import { SessionEntity } from '../sessions/session.entity.js';
import { SessionTransitions } from '../sessions/session-transitions.js';

/** Taken shared by launches of a launcher, exclusively by its deletion. */
export const launcherLock = (launcherId: string) => `launchpad:sessions:launcher:${launcherId}`;

/** What the sessions service does when its read model of launchers changes. */
@Injectable()
export class SessionsCatalogueHooks implements CatalogueHooks {
  constructor(private readonly transitions: SessionTransitions) {}

  /** A deleted launcher's sessions have nothing left to run: they are stopped and deleted. */
  async launcherDeleted({ manager }: CatalogueChange, launcherId: string): Promise<void> {
    // Waits for launches of this launcher under way (they hold the lock shared): their sessions are
    // then visible here; launches after this see the tombstone.
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [launcherLock(launcherId)]);
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
