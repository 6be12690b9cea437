import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Launcher, Repository } from '@launchpad/contracts';

@Entity({ name: 'catalogue_launchers' })
export class LauncherView {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ name: 'project_id', type: 'text' }) projectId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) kind!: string;
  @Column({ type: 'jsonb' }) environment!: Launcher['environment'];
  @Column({ type: 'jsonb', nullable: true }) pin!: Launcher['pin'];
  @Column({ name: 'resource_class_id', type: 'text', nullable: true }) resourceClassId!: string | null;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'catalogue_projects' })
export class ProjectView {
  @PrimaryColumn({ type: 'text' }) id!: string;
  @Column({ type: 'text' }) path!: string;
  @Column({ type: 'text' }) visibility!: string;
  @Column({ type: 'jsonb' }) repositories!: Repository[];
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'catalogue_members' })
export class MemberView {
  @PrimaryColumn({ name: 'project_id', type: 'text' }) projectId!: string;
  @PrimaryColumn({ name: 'user_id', type: 'text' }) userId!: string;
  @Column({ type: 'text' }) role!: string;
}

export const catalogueEntities = [LauncherView, ProjectView, MemberView];
