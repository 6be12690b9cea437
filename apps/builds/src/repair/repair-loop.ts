import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { OutboxWriter } from '@launchpad/messaging';
import { advisorySessionUnlock, tryAdvisorySessionLock } from '@launchpad/persistence';
import { counter } from '@launchpad/telemetry';
import { DataSource, type EntityManager } from 'typeorm';
import { z } from 'zod';
import { BuildEntity } from '../builds/build.entity.js';
import { branchOrTag, buildStatusOfJob, isFinishedPipeline, noImageJobReason, type Observation } from '../builds/build-status.js';
import { BuildsService } from '../builds/builds.service.js';
import { onGitLab } from '../builds/gitlab-url.js';
import { repairLock } from '../locks.js';
import { BUILDS_CONFIG, type BuildsConfig } from '../config.js';
import { parseGitLabTime } from '../webhooks/gitlab-payloads.js';
import { type ApiJob, type ApiPipeline, GitLabApi, GitLabRefused, GitLabUnavailable } from './gitlab-api.js';

const repaired = counter('launchpad_build_repairs_total', 'Builds the repair loop looked up in GitLab', ['outcome']);
const BATCH = 50;
/** The backoff doubles with each look that found nothing new, up to 2^6 = 64 times BUILD_REPAIR_AFTER_MS. */
const MAX_BACKOFF_DOUBLINGS = 6;

/**
 * Webhooks get lost. Every interval, one replica (whichever takes a Postgres advisory lock for the
 * pass) asks GitLab's REST API about builds that have stayed unfinished longer than
 * BUILD_REPAIR_AFTER_MS, and applies what it finds exactly as a webhook would be applied (so a
 * webhook arriving meanwhile and the repair cannot undo each other).
 *
 * Each build is looked at on its own: whatever goes wrong with one (GitLab refuses, answers HTML,
 * or something we cannot read) is logged, the build is marked checked, and the pass goes on to
 * the next, so one build can never stall the loop. A build that GitLab has nothing new about is
 * asked again after BUILD_REPAIR_AFTER_MS, then twice that, four times... (at most 64 times);
 * one that has not changed for BUILD_REPAIR_MAX_AGE_MS is given up on, and builds of projects
 * GitLab destroyed are never asked about. GitLab unreachable (or 5xx, 429): the pass stops, and
 * the next one tries again.
 */
@Injectable()
export class RepairLoop implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RepairLoop.name);
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly builds: BuildsService,
    private readonly gitlab: GitLabApi,
    @Inject(BUILDS_CONFIG) private readonly config: BuildsConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.gitlab.enabled) {
      this.logger.warn('GITLAB_API_TOKEN is not set: builds whose webhooks are lost will not be repaired from GitLab\'s API');
    }
    this.timer = setInterval(() => {
      this.pass ??= this.runPass()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.warn(`repair pass failed; next pass in ${this.config.repair.intervalMs} ms: ${(error as Error).message}`))
        .finally(() => (this.pass = undefined));
    }, this.config.repair.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.pass;
  }

  /** One pass, if this replica gets the lock; returns how many builds it looked up, or null without the lock. */
  async runPass(): Promise<number | null> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      if (!(await tryAdvisorySessionLock(runner, repairLock))) return null;
      try {
        await this.dataSource.query(`DELETE FROM webhook_deliveries WHERE received_at < now() - ($1::bigint * interval '1 millisecond')`, [this.config.deliveryRetentionMs]);
        return this.gitlab.enabled ? await this.repairDue() : 0;
      } finally {
        await advisorySessionUnlock(runner, repairLock);
      }
    } finally {
      await runner.release();
    }
  }

  private async repairDue(): Promise<number> {
    const { afterMs, maxAgeMs } = this.config.repair;
    const due = await this.dataSource
      .getRepository(BuildEntity)
      .createQueryBuilder('b')
      .where(`b.status IN ('pending', 'running')`)
      .andWhere(`b.updated_at < now() - (:after::bigint * interval '1 millisecond')`, { after: afterMs })
      .andWhere(`b.updated_at > now() - (:maxAge::bigint * interval '1 millisecond')`, { maxAge: maxAgeMs })
      .andWhere(`(b.checked_at IS NULL OR b.checked_at < now() - (:after::bigint * power(2, least(b.repair_attempts, :doublings)) * interval '1 millisecond'))`, {
        after: afterMs,
        doublings: MAX_BACKOFF_DOUBLINGS,
      })
      .andWhere(`NOT EXISTS (SELECT 1 FROM gitlab_projects g WHERE g.project_id = b.project_id AND g.destroyed)`)
      .orderBy('b.checked_at', 'ASC', 'NULLS FIRST')
      .addOrderBy('b.updated_at', 'ASC')
      .limit(BATCH)
      .getMany();
    for (const build of due) {
      const what = `build ${build.sha.slice(0, 8)} of project ${build.projectId}`;
      try {
        const observations = await this.lookUp(build);
        await this.outbox.transaction(async (manager) => {
          let changed = false;
          for (const observation of observations) {
            const applied = await this.builds.apply(manager, observation);
            if (applied?.transition) this.logger.log(`repaired ${what}: ${build.status} -> ${applied.build.status}`);
            changed ||= applied !== null;
          }
          await this.markChecked(manager, build, changed);
          repaired.inc({ outcome: changed ? 'changed' : 'unchanged' });
        });
      } catch (error) {
        // Whatever it was, this build was looked at: the next pass starts with others.
        await this.markChecked(this.dataSource.manager, build, false).catch(() => undefined);
        if (error instanceof GitLabUnavailable) throw error;
        this.logger.warn(`cannot repair ${what}: ${errorText(error)}`);
        repaired.inc({ outcome: error instanceof GitLabRefused ? 'refused' : 'error' });
      }
    }
    return due.length;
  }

  private async markChecked(manager: EntityManager, build: BuildEntity, changed: boolean): Promise<void> {
    await manager.query(
      `UPDATE builds SET checked_at = now(), repair_attempts = CASE WHEN $3 THEN 0 ELSE repair_attempts + 1 END WHERE project_id = $1 AND sha = $2`,
      [build.projectId, build.sha, changed],
    );
  }

  /**
   * What GitLab's API says now about the build's commit. A commit has several pipelines (merge
   * request pipelines that only test, tag and scheduled pipelines): what counts is the image job
   * in the build's own pipeline, and in the newest pipeline that has one; the newest pipeline
   * speaks only while none has the job (pending while it runs, failed once all have finished).
   */
  private async lookUp(build: BuildEntity): Promise<Observation[]> {
    const pipelines = await this.gitlab.pipelinesOf(build.projectId, build.sha);
    const base = {
      projectId: build.projectId,
      sha: build.sha,
      projectPath: build.projectPath,
      ref: build.ref,
      tag: build.tag,
      defaultBranch: build.defaultBranch,
      startedAt: null,
      finishedAt: null,
    };
    if (pipelines.length === 0) {
      if (build.pipelineId !== null) return [];
      return [
        {
          ...base,
          status: 'failed',
          failureReason: `GitLab ran no pipeline for commit ${build.sha.slice(0, 8)}: is CI configured (.gitlab-ci.yml with a ${this.config.builds.jobName} job), or was it skipped?`,
          pipelineId: null,
          pipelineUrl: null,
          jobId: null,
          jobUrl: null,
        },
      ];
    }
    const own = build.jobId !== null ? pipelines.find((p) => p.id === build.pipelineId) : undefined;
    const observations: Observation[] = [];
    if (own) {
      const job = await this.imageJobOf(build.projectId, own);
      const seen = job && this.observationOf(base, own, job);
      if (seen) observations.push(seen);
    }
    for (const pipeline of pipelines) {
      if (pipeline === own) continue;
      const job = await this.imageJobOf(build.projectId, pipeline);
      if (!job) continue;
      const seen = this.observationOf(base, pipeline, job);
      if (seen) observations.push(seen);
      break;
    }
    if (observations.length > 0 || own) return observations;
    const newest = pipelines[0]!;
    const unfinished = pipelines.some((p) => !isFinishedPipeline(p.status));
    const onNewest = { ...base, pipelineId: newest.id, pipelineUrl: onGitLab(newest.web_url, this.config.gitlab.url), jobId: null, jobUrl: null };
    if (unfinished) return [{ ...onNewest, status: 'pending', failureReason: null }];
    return [{ ...onNewest, status: 'failed', failureReason: noImageJobReason(newest.id, newest.status, this.config.builds.jobName) }];
  }

  /** The newest job of a pipeline named as the image job, if it has one. */
  private async imageJobOf(projectId: string, pipeline: ApiPipeline): Promise<ApiJob | undefined> {
    return (await this.gitlab.jobsOf(projectId, pipeline.id)).filter((j) => j.name === this.config.builds.jobName).sort((a, b) => b.id - a.id)[0];
  }

  private observationOf(base: Omit<Observation, 'status' | 'failureReason' | 'pipelineId' | 'pipelineUrl' | 'jobId' | 'jobUrl'>, pipeline: ApiPipeline, job: ApiJob): Observation | null {
    const state = buildStatusOfJob(job.status, job.failure_reason);
    if (!state) return null;
    return {
      ...base,
      ref: branchOrTag(pipeline.ref) ?? base.ref,
      tag: job.tag ?? base.tag,
      pipelineId: pipeline.id,
      pipelineUrl: onGitLab(pipeline.web_url, this.config.gitlab.url),
      ...state,
      jobId: job.id,
      jobUrl: onGitLab(job.web_url, this.config.gitlab.url),
      startedAt: parseGitLabTime(job.started_at),
      finishedAt: parseGitLabTime(job.finished_at),
    };
  }
}

function errorText(error: unknown): string {
  if (error instanceof z.ZodError) return `GitLab's answer is not as its API documents it: ${error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
  return (error as Error)?.message ?? String(error);
}
