import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { SecretSlot, UserSecret } from '@launchpad/contracts';

/** A user's own secret; the value only sealed (SecretBox, bound to the row's id). */
@Entity({ name: 'user_secrets' })
export class UserSecretEntity {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ name: 'user_id', type: 'text' }) userId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) kind!: 'general' | 'storage';
  @Column({ type: 'text' }) sealed!: string;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** A file a project's sessions get under /secrets, filled by each user with a secret of their own. */
@Entity({ name: 'secret_slots' })
export class SecretSlotEntity {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ name: 'project_id', type: 'text' }) projectId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  @Column({ type: 'text' }) filename!: string;
  @Column({ name: 'created_by', type: 'text' }) createdBy!: string;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'secret_slot_fills' })
export class SecretSlotFillEntity {
  @PrimaryColumn({ name: 'slot_id', type: 'uuid' }) slotId!: string;
  @PrimaryColumn({ name: 'user_id', type: 'text' }) userId!: string;
  @Column({ name: 'secret_id', type: 'uuid' }) secretId!: string;
}

export const secretEntities = [UserSecretEntity, SecretSlotEntity, SecretSlotFillEntity];

export function toUserSecret(s: UserSecretEntity): UserSecret {
  return { id: s.id, name: s.name, kind: s.kind, createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString() };
}

export function toSecretSlot(s: SecretSlotEntity, secretId: string | null): SecretSlot {
  return {
    id: s.id,
    projectId: s.projectId,
    name: s.name,
    description: s.description,
    filename: s.filename,
    createdBy: s.createdBy,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    secretId,
  };
}
