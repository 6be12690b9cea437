import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { OutboxWriter } from '@launchpad/messaging';
import { counter } from '@launchpad/telemetry';
import { DataSource } from 'typeorm';
import { BuildEntity } from '../builds/build.entity.js';
import { buildStatusOfJob, isFinishedPipeline, noImageJobReason, type Observation } from '../builds/build-status.js';
import { BuildsService } from '../builds/builds.service.js';
import { BUILDS_CONFIG, type BuildsConfig } from '../config.js';
import { parseGitLabTime } from '../webhooks/gitlab-payloads.js';
import { type ApiJob, type ApiPipeline, GitLabApi, GitLabRefused, GitLabUnavailable } from './gitlab-api.js';

const repaired = counter('launchpad_build_repairs_total', 'Builds the repair loop looked up in GitLab', ['outcome']);
const BATCH = 50;
const LOCK = 'launchpad:builds:repair';

/**
 * Webhooks get lost. Every interval, one replica (whichever takes a Postgres advisory lock for the
 * pass) asks GitLab's REST API about builds that have stayed unfinished longer than
 * BUILD_REPAIR_AFTER_MS, and applies what it finds exactly as a webhook would be applied (so a
 * webhook arriving meanwhile and the repair cannot undo each other). Each build is asked about at
 * most once per BUILD_REPAIR_AFTER_MS. GitLab unreachable: the pass stops, and the next one tries again.
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
      const [{ locked }] = await runner.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [LOCK]);
      if (!locked) return null;
      try {
        await this.dataSource.query(`DELETE FROM webhook_deliveries WHERE received_at < now() - ($1::bigint * interval '1 millisecond')`, [this.config.deliveryRetentionMs]);
        return this.gitlab.enabled ? await this.repairDue() : 0;
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [LOCK]);
      }
    } finally {
      await runner.release();
    }
  }

  private async repairDue(): Promise<number> {
    const due = await this.dataSource
      .getRepository(BuildEntity)
      .createQueryBuilder('b')
      .where(`b.status IN ('pending', 'running')`)
      .andWhere(`b.updated_at < now() - (:after::bigint * interval '1 millisecond')`, { after: this.config.repair.afterMs })
      .andWhere(`(b.checked_at IS NULL OR b.checked_at < now() - (:after::bigint * interval '1 millisecond'))`, { after: this.config.repair.afterMs })
      .orderBy('b.checked_at', 'ASC', 'NULLS FIRST')
      .limit(BATCH)
      .getMany();
    for (const build of due) {
      try {
        const observation = await this.lookUp(build);
        await this.outbox.transaction(async (manager) => {
          const applied = observation ? await this.builds.apply(manager, observation) : null;
          await manager.query(`UPDATE builds SET checked_at = now() WHERE project_id = $1 AND sha = $2`, [build.projectId, build.sha]);
          if (applied?.transition) this.logger.log(`repaired build ${build.sha.slice(0, 8)} of project ${build.projectId}: ${build.status} -> ${applied.build.status}`);
          repaired.inc({ outcome: applied?.transition ? 'changed' : 'unchanged' });
        });
      } catch (error) {
        if (error instanceof GitLabUnavailable) throw error;
        if (!(error instanceof GitLabRefused)) throw error;
        this.logger.warn(`cannot repair build ${build.sha.slice(0, 8)} of project ${build.projectId}: ${error.message}`);
        await this.dataSource.query(`UPDATE builds SET checked_at = now() WHERE project_id = $1 AND sha = $2`, [build.projectId, build.sha]);
        repaired.inc({ outcome: 'refused' });
      }
    }
    return due.length;
  }

  /** What GitLab's API says now about the build's commit, as an observation (null: nothing to say). */
  private async lookUp(build: BuildEntity): Promise<Observation | null> {
    const [pipeline] = await this.gitlab.pipelinesOf(build.projectId, build.sha);
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
    if (!pipeline) {
      if (build.pipelineId !== null) return null;
      return {
        ...base,
        status: 'failed',
        failureReason: `GitLab ran no pipeline for commit ${build.sha.slice(0, 8)}: is CI configured (.gitlab-ci.yml with a ${this.config.builds.jobName} job), or was it skipped?`,
        pipelineId: null,
        pipelineUrl: null,
        jobId: null,
        jobUrl: null,
      };
    }
    const job = (await this.gitlab.jobsOf(build.projectId, pipeline.id)).filter((j) => j.name === this.config.builds.jobName).sort((a, b) => b.id - a.id)[0];
    return this.observationOf(base, pipeline, job);
  }

  private observationOf(base: Omit<Observation, 'status' | 'failureReason' | 'pipelineId' | 'pipelineUrl' | 'jobId' | 'jobUrl'>, pipeline: ApiPipeline, job: ApiJob | undefined): Observation | null {
    const onPipeline = { ...base, ref: pipeline.ref ?? base.ref, pipelineId: pipeline.id, pipelineUrl: pipeline.web_url ?? null };
    if (job) {
      const state = buildStatusOfJob(job.status, job.failure_reason);
      if (!state) return null;
      return { ...onPipeline, ...state, jobId: job.id, jobUrl: job.web_url ?? null, startedAt: parseGitLabTime(job.started_at), finishedAt: parseGitLabTime(job.finished_at) };
    }
    if (!isFinishedPipeline(pipeline.status)) return { ...onPipeline, status: 'pending', failureReason: null, jobId: null, jobUrl: null };
    return {
      ...onPipeline,
      status: 'failed',
      failureReason: noImageJobReason(pipeline.id, pipeline.status, this.config.builds.jobName),
      jobId: null,
      jobUrl: null,
    };
  }
}
