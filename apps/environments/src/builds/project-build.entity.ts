import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintOrNull } from '../launchers/launcher.entity.js';

/** Where a build stands among its branch's commits: its first pipeline on the branch, else the pipeline it follows. */
export const BRANCH_PLACE = (alias: string) => `coalesce(${alias}.branch_pipeline_id, ${alias}.pipeline_id)`;

/** The place of a build, as BRANCH_PLACE computes it in SQL. */
export const branchPlaceOf = (b: Pick<ProjectBuildEntity, 'branchPipelineId' | 'pipelineId'>): number | null => b.branchPipelineId ?? b.pipelineId;

/**
 * What environments knows of the project builds, kept from the builds service's `builds.build.*`
 * events: enough to pin launchers made from code and to see when a newer build succeeded.
 */
@Entity({ name: 'project_builds' })
export class ProjectBuildEntity {
  @PrimaryColumn({ name: 'project_id', type: 'text' }) projectId!: string;
  @PrimaryColumn({ type: 'text' }) sha!: string;
  @Column({ type: 'text', nullable: true }) ref!: string | null;
  @Column({ type: 'boolean' }) tag!: boolean;
  @Column({ name: 'default_branch', type: 'text', nullable: true }) defaultBranch!: string | null;
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'text' }) image!: string;
  @Column({ name: 'pipeline_id', type: 'bigint', nullable: true, transformer: bigintOrNull }) pipelineId!: number | null;
  /** The first pipeline of the commit on its branch (null: none seen yet, or a build recorded before builds said). */
  @Column({ name: 'branch_pipeline_id', type: 'bigint', nullable: true, transformer: bigintOrNull }) branchPipelineId!: number | null;
  @Column({ type: 'integer' }) revision!: number;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt!: Date | null;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
