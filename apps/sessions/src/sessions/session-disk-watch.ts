import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { OutboxWriter } from '@launchpad/messaging';
import type { Runtime } from '@launchpad/runtime';
import { DataSource } from 'typeorm';
import type { SessionsConfig } from '../config.js';
import { SESSIONS_CONFIG } from '../reconciler/session-reconciler.js';
import { SessionEntity } from './session.entity.js';
import { SessionTransitions } from './session-transitions.js';
import { diskWarning } from './session-view.js';
import { SESSION_RUNTIME } from './tokens.js';

/**
 * Measures the disk of every running session every SESSION_DISK_CHECK_INTERVAL_MS (through the
 * runtime's `diskUsage`), keeps it on the row for the status, and says once on the session's
 * progress stream when it crosses 90 %. Runs on every replica: a session is claimed for one
 * measurement per interval by a conditional update, so replicas do not measure it twice.
 */
@Injectable()
export class SessionDiskWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionDiskWatch.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly transitions: SessionTransitions,
    @Inject(SESSION_RUNTIME) private readonly runtime: Runtime,
    @Inject(SESSIONS_CONFIG) private readonly config: SessionsConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.runtime.diskUsage) {
      this.logger.warn(`the ${this.runtime.name} runtime does not measure disk usage: sessions report none`);
      return;
    }
    this.timer = setInterval(() => void this.pass(), this.config.disk.checkIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One round over the running sessions (skipped while the previous one still runs). */
  pass(): Promise<void> {
    if (this.running || this.closed) return this.running ?? Promise.resolve();
    this.running = this.measureAll()
      .catch((error: unknown) => this.logger.warn(`measuring session disks failed: ${(error as Error).message}; the next round tries again`))
      .finally(() => (this.running = null));
    return this.running;
  }

  private async measureAll(): Promise<void> {
    const rows: { id: string }[] = await this.dataSource.query(`SELECT id FROM sessions WHERE status = 'running' AND desired_state = 'running'`);
    for (const { id } of rows) {
      if (this.closed) return;
      const claimed: unknown[] = await this.dataSource.query(
        `UPDATE sessions SET disk_measured_at = now() WHERE id = $1 AND (disk_measured_at IS NULL OR disk_measured_at <= now() - $2 * interval '1 millisecond') RETURNING id`,
        [id, Math.max(0, this.config.disk.checkIntervalMs - 500)],
      );
      // node-postgres answers an UPDATE ... RETURNING with [rows, count] through TypeORM.
      const got = Array.isArray(claimed[0]) ? (claimed[0] as unknown[]).length : claimed.length;
      if (got === 0) continue;
      try {
        const usage = await this.runtime.diskUsage?.(id);
        if (usage) await this.record(id, usage.usedBytes);
      } catch (error) {
        this.logger.warn({ sessionId: id }, `could not measure the disk of session ${id}: ${(error as Error).message}`);
      }
    }
  }

  private async record(id: string, usedBytes: number): Promise<void> {
    await this.outbox.transaction(async (manager) => {
      const row = await manager.findOne(SessionEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!row || row.status !== 'running') return;
      const now = new Date();
      const warning = diskWarning(usedBytes, row.diskGb);
      if (warning && row.diskWarnedAt === null) {
        row.diskUsedBytes = usedBytes;
        row.diskMeasuredAt = now;
        row.diskWarnedAt = now;
        this.logger.warn({ sessionId: id, usedBytes, diskGb: row.diskGb }, `session ${id}: ${warning}`);
        // The same step, said again with the warning: it goes to the status and the SSE stream.
        await this.transitions.record(manager, row, { phase: row.phase, message: warning });
        return;
      }
      await manager.update(SessionEntity, { id }, { diskUsedBytes: usedBytes, diskMeasuredAt: now, ...(warning ? {} : { diskWarnedAt: null }) });
    });
  }
}
