import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { AppAccess, AppStatus, Repository, RunSettings } from '@launchpad/contracts';

/**
 * How an app runs, taken from its launcher and project at activation. An empty `command` (the
 * launcher environment's own) means: look for a Procfile.
 */
export interface AppRunSpec extends RunSettings {
  image: string;
  repositories: Repository[];
  /** The environment's user and group (fsGroup: its gid); absent in rows from before: the runtime's default. */
  security?: { uid: number; gid: number; fsGroup: number };
}

/** What the replicas run, once known (the launcher's command, a Procfile's web line, or the image's entrypoint). */
export interface ResolvedCommand {
  source: 'launcher' | 'procfile' | 'image';
  repository: string | null;
  line: string;
  command: string[];
  args: string[];
  /** Served at its root: the activator removes `/a/<slug>` (a Procfile app expects to own `/`). */
  stripPrefix: boolean;
}

@Entity({ name: 'apps' })
export class AppEntity {
  @PrimaryColumn({ name: 'launcher_id', type: 'uuid' }) launcherId!: string;
  @Column({ name: 'project_id', type: 'text' }) projectId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text', unique: true }) slug!: string;
  @Column({ type: 'text' }) status!: AppStatus;
  @Column({ type: 'text', nullable: true }) message!: string | null;
  @Column({ type: 'text' }) access!: AppAccess;
  @Column({ name: 'min_replicas', type: 'int' }) minReplicas!: number;
  @Column({ name: 'max_replicas', type: 'int' }) maxReplicas!: number;
  @Column({ name: 'target_concurrency', type: 'int' }) targetConcurrency!: number;
  @Column({ name: 'desired_replicas', type: 'int' }) desiredReplicas!: number;
  /** Bumped whenever replicas must start afresh (a new activation with another spec, a retry after failing). */
  @Column({ type: 'int' }) generation!: number;
  @Column({ type: 'jsonb' }) spec!: AppRunSpec;
  @Column({ name: 'spec_hash', type: 'text' }) specHash!: string;
  @Column({ type: 'jsonb', nullable: true }) command!: ResolvedCommand | null;
  /** Ready replicas in rotation, as the leader last saw them; what activators route to. */
  @Column({ type: 'jsonb' }) endpoints!: string[];
  @Column({ name: 'route_version', type: 'int' }) routeVersion!: number;
  @Column({ name: 'last_request_at', type: 'timestamptz', nullable: true }) lastRequestAt!: Date | null;
  @Column({ name: 'activated_at', type: 'timestamptz', nullable: true }) activatedAt!: Date | null;
  @Column({ name: 'activated_by', type: 'text', nullable: true }) activatedBy!: string | null;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
