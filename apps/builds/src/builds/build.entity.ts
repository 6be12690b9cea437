import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Build, BuildStatus } from '@launchpad/contracts';

/** pg returns bigint as a string; GitLab ids fit in a double. */
const bigintOrNull = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

@Entity({ name: 'builds' })
export class BuildEntity {
  @PrimaryColumn({ name: 'project_id', type: 'text' }) projectId!: string;
  @PrimaryColumn({ type: 'text' }) sha!: string;
  @Column({ type: 'text', nullable: true }) ref!: string | null;
  @Column({ type: 'boolean' }) tag!: boolean;
  @Column({ name: 'project_path', type: 'text' }) projectPath!: string;
  @Column({ name: 'default_branch', type: 'text', nullable: true }) defaultBranch!: string | null;
  @Column({ type: 'text' }) status!: BuildStatus;
  @Column({ type: 'text' }) image!: string;
  @Column({ name: 'pipeline_id', type: 'bigint', nullable: true, transformer: bigintOrNull }) pipelineId!: number | null;
  @Column({ name: 'branch_pipeline_id', type: 'bigint', nullable: true, transformer: bigintOrNull }) branchPipelineId!: number | null;
  @Column({ name: 'pipeline_url', type: 'text', nullable: true }) pipelineUrl!: string | null;
  @Column({ name: 'job_id', type: 'bigint', nullable: true, transformer: bigintOrNull }) jobId!: number | null;
  @Column({ name: 'job_url', type: 'text', nullable: true }) jobUrl!: string | null;
  @Column({ name: 'failure_reason', type: 'text', nullable: true }) failureReason!: string | null;
  @Column({ type: 'integer' }) revision!: number;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt!: Date | null;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt!: Date | null;
  @Column({ name: 'checked_at', type: 'timestamptz', nullable: true }) checkedAt!: Date | null;
  /** Looks at GitLab's API in a row that found nothing new (the repair loop backs off on them). */
  @Column({ name: 'repair_attempts', type: 'integer', default: 0 }) repairAttempts!: number;
}

export function toBuild(b: BuildEntity): Build {
  return {
    projectId: b.projectId,
    sha: b.sha,
    ref: b.ref,
    tag: b.tag,
    projectPath: b.projectPath,
    defaultBranch: b.defaultBranch,
    status: b.status,
    image: b.image,
    pipelineId: b.pipelineId,
    branchPipelineId: b.branchPipelineId,
    pipelineUrl: b.pipelineUrl,
    jobId: b.jobId,
    jobUrl: b.jobUrl,
    failureReason: b.failureReason,
    revision: b.revision,
    createdAt: b.createdAt.toISOString(),
    updatedAt: b.updatedAt.toISOString(),
    startedAt: b.startedAt?.toISOString() ?? null,
    finishedAt: b.finishedAt?.toISOString() ?? null,
  };
}
