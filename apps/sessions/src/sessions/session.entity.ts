import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { LaunchEstimate } from '../launch-estimates/launch-timings.js';
import type { ActivitySeen } from '../culling/check-idle-session.usecase.js';
import type { ProgramAuth, Repository, RunSettings, SessionPhase, SessionStatus } from '@launchpad/contracts';
import type { ClassPlacement } from '../resource-pools/resource-pool.entity.js';

export type DesiredState = 'running' | 'hibernated' | 'deleted';

/** How to run the session, copied from its launcher's environment and project when it was launched or resumed. */
export interface SessionRunSpec extends RunSettings {
  repositories: Repository[];
  /** For a launcher made from code: the commit whose image it runs, which may still be building. */
  build?: { projectId: string; sha: string } | null;
  /** The launch's overrides of variables that are not secret (the others are sealed in `secret_env`), applied again on resume. */
  envVariableOverrides?: { name: string; value: string }[];
  /** The disk the launch (or its launcher) asked for, in GB; unset: the class's default. Asked again of the class on resume. */
  diskStorageGb?: number | null;
  /** The idle time the launch asked for (seconds), asked again of the pool on resume; unset: the launcher's, else the pool's. */
  idleThresholdS?: number | null;
  /** The launch's dataConnectorsOverrides, applied again on resume. */
  dataConnectorsOverrides?: { dataConnectorId: string; skip?: boolean; sourcePath?: string; targetPath?: string; readonly?: boolean }[];
  /** How the program takes the session's secret (see session-secret.ts); absent in rows from before. */
  auth?: ProgramAuth;
  /**
   * The user and group its program runs as, from its environment (the kubernetes runtime's
   * securityContext; its work volume is group-owned by fsGroup, the environment's gid). Absent in
   * rows from before: the runtime's default (a non-root uid).
   */
  security?: { uid: number; gid: number; fsGroup: number };
  /** Where and how it runs on a cluster, from its resource class at launch and at each resume; absent in rows from before. */
  placement?: ClassPlacement;
}

@Entity({ name: 'sessions' })
export class SessionEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'user_id', type: 'text' }) userId!: string;
  @Column({ name: 'launcher_id', type: 'uuid' }) launcherId!: string;
  @Column({ name: 'project_id', type: 'text' }) projectId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) status!: SessionStatus;
  @Column({ name: 'desired_state', type: 'text' }) desiredState!: DesiredState;
  @Column({ type: 'text' }) phase!: SessionPhase;
  @Column({ type: 'text', nullable: true }) message!: string | null;
  @Column({ type: 'text' }) image!: string;
  @Column({ type: 'jsonb' }) spec!: SessionRunSpec;
  /** The session's secret variables, sealed (see session-env.ts); never in `spec`, never in an event. */
  @Column({ name: 'secret_env', type: 'text', nullable: true }) secretEnv!: string | null;
  @Column({ name: 'resource_class_id', type: 'text' }) resourceClassId!: string;
  @Column({ name: 'resource_pool_id', type: 'uuid' }) resourcePoolId!: string;
  @Column({ type: 'double precision' }) cpu!: number;
  @Column({ name: 'memory_gb', type: 'double precision' }) memoryGb!: number;
  @Column({ type: 'integer' }) gpu!: number;
  @Column({ name: 'disk_gb', type: 'double precision' }) diskGb!: number;
  @Column({ type: 'text', nullable: true }) endpoint!: string | null;
  @Column({ name: 'disk_used_bytes', type: 'bigint', nullable: true, transformer: { to: (v: number | null | undefined) => v, from: (v: string | null) => (v === null ? null : Number(v)) } })
  diskUsedBytes!: number | null;
  @Column({ name: 'disk_measured_at', type: 'timestamptz', nullable: true }) diskMeasuredAt!: Date | null;
  /** The session's own idle and hibernated thresholds (ms; 0 = never; null = the service's). */
  @Column({ name: 'idle_timeout_ms', type: 'bigint', nullable: true, transformer: { to: (v: number | null | undefined) => v, from: (v: string | null) => (v === null ? null : Number(v)) } })
  idleTimeoutMs!: number | null;
  @Column({ name: 'hibernated_ttl_ms', type: 'bigint', nullable: true, transformer: { to: (v: number | null | undefined) => v, from: (v: string | null) => (v === null ? null : Number(v)) } })
  hibernatedTtlMs!: number | null;
  /** The lastInteraction whose coming hibernation was announced, so it is announced once per idle stretch. */
  @Column({ name: 'hibernation_warned_for', type: 'timestamptz', nullable: true }) hibernationWarnedFor!: Date | null;
  /** When the 90 % warning was given (cleared when usage falls below it), so it is given once. */
  @Column({ name: 'disk_warned_at', type: 'timestamptz', nullable: true }) diskWarnedAt!: Date | null;
  /** While starting: its launcher's last start of the same kind, and when it may be ready (launch-timings.ts). */
  @Column({ name: 'launch_estimate', type: 'jsonb', nullable: true }) launchEstimate!: LaunchEstimate | null;
  /** What the last look at the program's own activity saw (CheckIdleSession), for the status's idleReason. */
  @Column({ name: 'activity_seen', type: 'jsonb', nullable: true }) activitySeen!: ActivitySeen | null;
  /** The session's own secret (session-secret.ts): never shown to anyone but its program and the gateway's proxy. */
  @Column({ type: 'text' }) secret!: string;
  @Column({ name: 'progress_seq', type: 'integer' }) progressSeq!: number;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt!: Date | null;
  @Column({ name: 'last_interaction', type: 'timestamptz' }) lastInteraction!: Date;
  @Column({ name: 'hibernated_at', type: 'timestamptz', nullable: true }) hibernatedAt!: Date | null;
  @Column({ name: 'hibernation_reason', type: 'text', nullable: true }) hibernationReason!: string | null;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'session_progress' })
export class SessionProgressEntity {
  @PrimaryColumn({ name: 'session_id', type: 'uuid' }) sessionId!: string;
  @PrimaryColumn({ type: 'integer' }) seq!: number;
  @Column({ type: 'text' }) phase!: SessionPhase;
  @Column({ type: 'text', nullable: true }) status!: SessionStatus | null;
  @Column({ type: 'text' }) message!: string;
  @Column({ type: 'timestamptz' }) at!: Date;
}
