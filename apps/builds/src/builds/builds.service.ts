import { Inject, Injectable } from '@nestjs/common';
import { type Build, BUILD_EVENTS, BuildsError, BuildsErrorCode, type buildSearchSchema, buildUpdatedV1 } from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import { advisoryLock, runTogether, type Statement } from '@launchpad/persistence';
import { DataSource, type EntityManager } from 'typeorm';
import type { z } from 'zod';
import { commitLock } from '../locks.js';
import { BUILDS_CONFIG, type BuildsConfig } from '../config.js';
import { BuildEntity, toBuild } from './build.entity.js';
import { readBuild, writeBuild } from './build-rows.js';
import { imageFor, isTerminal, type Observation, placement, supersedes } from './build-status.js';

export interface Applied {
  build: Build;
  /** The status changed (or the build is new): its status event was written. */
  transition: boolean;
  /** The status stayed, but what consumers read changed (pipeline, job, failure reason, branch): builds.build.updated was written. */
  updated: boolean;
}

export interface ApplyOptions {
  /** The caller took commitLock(o.projectId, o.sha) in this transaction already (with its own first statement). */
  lockHeld?: boolean;
  /** The record as the caller read it under that lock (buildOfCommitSql), so as not to read it again. */
  current?: BuildEntity | null;
  /**
   * Statements of the caller's, given what was applied, run in the same statement as the
   * record's write and its event (runTogether): one round trip for all of them.
   */
  also?: (applied: Applied | null) => Statement[];
}

@Injectable()
export class BuildsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    @Inject(BUILDS_CONFIG) private readonly config: BuildsConfig,
  ) {}

  /**
   * Applies what GitLab said about a commit's image job, in the caller's transaction: the record
   * moves only forward (see supersedes), each status it enters is announced once with the whole
   * record, and any other change a consumer reads (its pipeline becoming known, another pipeline
   * or job, a new failure reason, where the commit stands on its branch) is announced as
   * builds.build.updated. Returns null when the observation told nothing new.
   */
  async apply(manager: EntityManager, o: Observation, options: ApplyOptions = {}): Promise<Applied | null> {
    if (!manager.queryRunner?.isTransactionActive) throw new Error('BuildsService.apply must run inside a transaction');
    // One writer per commit at a time, whether the first record exists yet or not.
    if (!options.lockHeld) await advisoryLock(manager, commitLock(o.projectId, o.sha));
    const current = options.lockHeld && options.current !== undefined ? options.current : await readBuild(manager, o.projectId, o.sha);
    const planned = this.plan(current, o);
    const writes = planned ? [writeBuild(planned.row, current === null), ...(planned.event ? [planned.event] : [])] : [];
    // Prepared: a handful of shapes (insert or update, an event or none, the caller's own), on every delivery's path.
    await runTogether(manager, [...writes, ...(options.also?.(planned?.applied ?? null) ?? [])], { prepare: true });
    return planned?.applied ?? null;
  }

  /** What the observation changes in the record read under the lock: the row to write, its event, what was applied; null for nothing. */
  private plan(current: BuildEntity | null, o: Observation): { row: BuildEntity; event: Statement | null; applied: Applied } | null {
    const now = new Date();
    const place = placement(current, o);
    const moved = current !== null && (place.ref !== current.ref || place.tag !== current.tag || place.branchPipelineId !== current.branchPipelineId);
    if (!supersedes(current, o)) {
      // Stale for the image job, but news of where the commit stands (its branch, its first
      // pipeline there): a commit belongs to its branch, whichever pipeline built its image.
      if (!moved) return null;
      Object.assign(current, place, { revision: current.revision + 1, updatedAt: now });
      const build = toBuild(current);
      return { row: current, event: this.outbox.appendStatement(buildUpdatedV1, build).statement, applied: { build, transition: false, updated: true } };
    }
    const before = current && { pipelineId: current.pipelineId, jobId: current.jobId, failureReason: current.failureReason };
    const sameJob = current !== null && current.pipelineId === o.pipelineId && current.jobId === o.jobId;
    const next: BuildEntity =
      current ??
      Object.assign(new BuildEntity(), {
        projectId: o.projectId,
        sha: o.sha,
        image: imageFor(this.config.builds.registry, o.projectPath, o.sha),
        revision: 0,
        createdAt: now,
        checkedAt: null,
      });
    const transition = current === null || current.status !== o.status;
    Object.assign(next, {
      ...place,
      projectPath: o.projectPath,
      defaultBranch: o.defaultBranch ?? next.defaultBranch ?? null,
      status: o.status,
      pipelineId: o.pipelineId,
      pipelineUrl: o.pipelineUrl ?? (o.pipelineId !== null && o.pipelineId === current?.pipelineId ? current.pipelineUrl : null),
      jobId: o.jobId,
      jobUrl: o.jobUrl,
      failureReason: o.status === 'failed' || o.status === 'canceled' ? o.failureReason : null,
      startedAt: o.startedAt ?? (sameJob ? (current?.startedAt ?? null) : null) ?? (o.status === 'running' ? now : null),
      finishedAt: isTerminal(o.status) ? (o.finishedAt ?? now) : null,
      revision: next.revision + 1,
      updatedAt: now,
      repairAttempts: 0,
    });
    const build = toBuild(next);
    const updated =
      !transition && before !== null && (moved || before.pipelineId !== next.pipelineId || before.jobId !== next.jobId || before.failureReason !== next.failureReason);
    const event = transition ? BUILD_EVENTS[build.status] : updated ? buildUpdatedV1 : null;
    return { row: next, event: event && this.outbox.appendStatement(event, build).statement, applied: { build, transition, updated } };
  }

  async list(projectId: string, query: z.output<typeof buildSearchSchema>): Promise<Build[]> {
    const qb = this.dataSource.getRepository(BuildEntity).createQueryBuilder('b').where('b.project_id = :projectId', { projectId });
    if (query.sha) qb.andWhere('b.sha LIKE :prefix', { prefix: `${query.sha}%` });
    if (query.ref) qb.andWhere('b.ref = :ref', { ref: query.ref });
    if (query.status) qb.andWhere('b.status = :status', { status: query.status });
    const rows = await qb.orderBy('b.pipeline_id', 'DESC', 'NULLS LAST').addOrderBy('b.created_at', 'DESC').limit(query.limit).getMany();
    return rows.map(toBuild);
  }

  async forCommit(projectId: string, sha: string): Promise<Build> {
    const row = await this.dataSource.getRepository(BuildEntity).findOneBy({ projectId, sha });
    if (!row) {
      throw new BuildsError(
        BuildsErrorCode.BUILD_NOT_FOUND,
        `no build of commit ${sha.slice(0, 8)} in project ${projectId} is known: GitLab has not reported a push or pipeline for it`,
      );
    }
    return toBuild(row);
  }
}
