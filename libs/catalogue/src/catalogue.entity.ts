import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Launcher, Repository } from '@launchpad/contracts';

/** pg answers bigint as a string; versions fit in a double. */
const version = { to: (v: number) => v, from: (v: string) => Number(v) };

/**
 * A launcher as last heard of (see apply-rule.ts), or its tombstone (`deletedAt` set; its other
 * columns then null, but `projectId` and `id`). Queries read only live rows: CatalogueService.launcher.
 */
@Entity({ name: 'catalogue_launchers' })
export class LauncherView {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ name: 'project_id', type: 'text', nullable: true }) projectId!: string | null;
  @Column({ type: 'text', nullable: true }) name!: string | null;
  @Column({ type: 'text', nullable: true }) kind!: string | null;
  @Column({ type: 'jsonb', nullable: true }) environment!: Launcher['environment'] | null;
  @Column({ type: 'jsonb', nullable: true }) pin!: Launcher['pin'];
  @Column({ name: 'resource_class_id', type: 'text', nullable: true }) resourceClassId!: string | null;
  @Column({ name: 'updated_at', type: 'timestamptz', nullable: true }) updatedAt!: Date | null;
  @Column({ type: 'bigint', transformer: version }) version!: number;
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true }) deletedAt!: Date | null;
}

/** A project as last heard of, or its tombstone (`deletedAt` set, `path` and `visibility` null). */
@Entity({ name: 'catalogue_projects' })
export class ProjectView {
  @PrimaryColumn({ type: 'text' }) id!: string;
  @Column({ type: 'text', nullable: true }) path!: string | null;
  @Column({ type: 'text', nullable: true }) visibility!: string | null;
  @Column({ type: 'jsonb' }) repositories!: Repository[];
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column({ type: 'bigint', transformer: version }) version!: number;
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true }) deletedAt!: Date | null;
}

/** A membership as last heard of; `role` null is its removal's tombstone (CatalogueService.role reads only live ones). */
@Entity({ name: 'catalogue_members' })
export class MemberView {
  @PrimaryColumn({ name: 'project_id', type: 'text' }) projectId!: string;
  @PrimaryColumn({ name: 'user_id', type: 'text' }) userId!: string;
  @Column({ type: 'text', nullable: true }) role!: string | null;
  @Column({ type: 'bigint', transformer: version }) version!: number;
}

export const catalogueEntities = [LauncherView, ProjectView, MemberView];
