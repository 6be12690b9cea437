import { Inject, Injectable, Optional } from '@nestjs/common';
import { SESSION_STATUS_EVENTS, type SessionPhase, type SessionStatus, sessionDeletedV1, sessionProgressedV1 } from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import { insertNew, runTogether, updateWholeStatement } from '@launchpad/persistence';
import type { EntityManager } from 'typeorm';
import { SESSIONS_CULLING } from './tokens.js';
import { type DesiredState, SessionEntity, SessionProgressEntity } from './session.entity.js';
import { type CullingPolicy, toProgress, toSession } from './session-view.js';
import { LaunchTimings, stepNote } from '../launch-estimates/launch-timings.js';

export interface SessionChange {
  phase: SessionPhase;
  message: string;
  status?: SessionStatus;
  desiredState?: DesiredState;
  endpoint?: string | null;
  startedAt?: Date | null;
  lastInteraction?: Date;
  hibernatedAt?: Date | null;
  hibernationReason?: string | null;
  hibernationWarnedFor?: Date | null;
}

/**
 * The one way a session changes: the row, a progress step for people following it, and the
 * events (a status event when the status changes, a progress event always) in one transaction.
 */
@Injectable()
export class SessionTransitions {
  constructor(
    private readonly outbox: OutboxWriter,
    @Inject(SESSIONS_CULLING) private readonly culling: CullingPolicy,
    @Optional() private readonly timings: LaunchTimings = new LaunchTimings(),
  ) {}

  /**
   * `announceStatus` publishes the status event even when the status is unchanged (a new row's
   * first status); `inserting`: the row is new, not yet in the table, and is inserted as changed;
   * `afterCommit`: takes what may wait until the transaction has committed (the launch's timing,
   * an estimate for the next launch), for the caller to run then, off the path to the event.
   */
  async record(
    manager: EntityManager,
    row: SessionEntity,
    change: SessionChange,
    options: { announceStatus?: boolean; inserting?: boolean; afterCommit?: (work: (m: EntityManager) => Promise<void>) => void } = {},
  ): Promise<SessionEntity> {
    const statusChanged = change.status !== undefined && (change.status !== row.status || options.announceStatus === true);
    const { phase, message, ...fields } = change;
    Object.assign(row, fields, { phase, message, updatedAt: new Date(), progressSeq: row.progressSeq + 1 });
    // The step's estimate goes on the stream only: row.message is what the plan compares with.
    const note = row.status === 'starting' ? stepNote(row.launchEstimate, phase) : null;
    if (statusChanged && row.status !== 'starting') row.launchEstimate = null;
    // The row as the caller holds it (a resume changed more than `change`), the progress step and
    // the events as one statement: one round trip a step where save() and appends took six. A new
    // row goes in first, on its own: the progress step refers to it. Prepared: a handful of texts
    // (which columns, which events), parsed and planned once per connection.
    if (options.inserting) await insertNew(manager, SessionEntity, row);
    const progress = manager.create(SessionProgressEntity, {
      sessionId: row.id,
      seq: row.progressSeq,
      phase,
      status: statusChanged ? row.status : null,
      message: note ? `${message}; ${note}` : message,
      at: row.updatedAt,
    });
    await runTogether(manager, [
      ...(options.inserting ? [] : [updateWholeStatement(manager, SessionEntity, row)]),
      {
        sql: `INSERT INTO session_progress (session_id, seq, phase, status, message, at) VALUES ($1, $2, $3, $4, $5, $6)`,
        params: [progress.sessionId, progress.seq, progress.phase, progress.status, progress.message, progress.at],
      },
      ...(statusChanged ? [this.outbox.appendStatement(SESSION_STATUS_EVENTS[row.status], toSession(row, this.culling)).statement] : []),
      this.outbox.appendStatement(sessionProgressedV1, toProgress(progress)).statement,
    ], { prepare: true });
    // Ready: this start's steps are the estimate of the next one of its launcher (read with the step just written).
    if (statusChanged && row.status === 'running') {
      const { id, launcherId } = row;
      const timing = (m: EntityManager) => this.timings.record(m, id, launcherId);
      if (options.afterCommit) options.afterCommit(timing);
      else await timing(manager);
    }
    return row;
  }

  /** The session is gone from the runtime: its row goes, and the slot for its user and launcher is free. */
  async forget(manager: EntityManager, row: SessionEntity): Promise<void> {
    await manager.delete(SessionEntity, { id: row.id });
    await this.outbox.append(manager, sessionDeletedV1, { id: row.id, userId: row.userId, launcherId: row.launcherId });
  }
}
