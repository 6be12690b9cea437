import { Inject, Injectable } from '@nestjs/common';
import { type Build, BUILD_EVENTS, BuildsError, BuildsErrorCode, type buildSearchSchema } from '@launchpad/contracts';
import { OutboxWriter } from '@launchpad/messaging';
import { DataSource, type EntityManager } from 'typeorm';
import type { z } from 'zod';
import { BUILDS_CONFIG, type BuildsConfig } from '../config.js';
import { BuildEntity, toBuild } from './build.entity.js';
import { imageFor, isTerminal, type Observation, supersedes } from './build-status.js';

export interface Applied {
  build: Build;
  /** The status changed (or the build is new): its event was written. */
  transition: boolean;
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
   * moves only forward (see supersedes), and each status it enters is announced once with the
   * whole record. Returns null when the observation was stale.
   */
  async apply(manager: EntityManager, o: Observation): Promise<Applied | null> {
    // One writer per commit at a time, whether the first record exists yet or not.
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`launchpad:builds:${o.projectId}:${o.sha}`]);
    const current = await manager.findOneBy(BuildEntity, { projectId: o.projectId, sha: o.sha });
    if (!supersedes(current, o)) return null;
    const now = new Date();
    const sameJob = current !== null && current.pipelineId === o.pipelineId && current.jobId === o.jobId;
    const next = current ?? manager.create(BuildEntity, {
      projectId: o.projectId,
      sha: o.sha,
      image: imageFor(this.config.builds.registry, o.projectPath, o.sha),
      revision: 0,
      createdAt: now,
      checkedAt: null,
    });
    const transition = current === null || current.status !== o.status;
    Object.assign(next, {
      ref: o.ref ?? next.ref ?? null,
      tag: o.tag,
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
    });
    await manager.save(BuildEntity, next);
    const build = toBuild(next);
    if (transition) await this.outbox.append(manager, BUILD_EVENTS[build.status], build);
    return { build, transition };
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
