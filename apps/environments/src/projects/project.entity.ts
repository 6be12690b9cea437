import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Project, ProjectMember, ProjectRole, Repository } from '@launchpad/contracts';
import { RowVersionColumn } from '../row-version.js';

@Entity({ name: 'projects' })
export class ProjectEntity {
  @PrimaryColumn({ type: 'text' }) id!: string;
  @Column({ type: 'text' }) path!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) visibility!: 'private' | 'internal' | 'public';
  @Column({ type: 'jsonb' }) repositories!: Repository[];
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @RowVersionColumn() version!: number;
}

@Entity({ name: 'project_members' })
export class ProjectMemberEntity {
  @PrimaryColumn({ name: 'project_id', type: 'text' }) projectId!: string;
  @PrimaryColumn({ name: 'user_id', type: 'text' }) userId!: string;
  @Column({ type: 'text' }) role!: ProjectRole;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @RowVersionColumn() version!: number;
}

export function toProject(p: ProjectEntity): Project {
  return {
    id: p.id,
    path: p.path,
    name: p.name,
    visibility: p.visibility,
    repositories: p.repositories,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
    version: p.version,
  };
}

export function toMember(m: ProjectMemberEntity): ProjectMember {
  return { projectId: m.projectId, userId: m.userId, role: m.role, updatedAt: m.updatedAt.toISOString(), version: m.version };
}
