import { Injectable } from '@nestjs/common';
import {
  type Envelope,
  gitlabMemberAddedV1,
  gitlabMemberRemovedV1,
  gitlabMemberUpdatedV1,
  gitlabProjectCreatedV1,
  gitlabProjectDestroyedV1,
  gitlabProjectRenamedV1,
  gitlabUserDestroyedV1,
  gitlabUserRenamedV1,
  parseEnvelope,
} from '@launchpad/contracts';
import { applyOnce, OutboxWriter, PermanentMessageError } from '@launchpad/messaging';
import { DataSource, type EntityManager } from 'typeorm';
import { GitLabProjection } from './gitlab-projection.js';

export const GITLAB_DURABLE = 'environments-gitlab';

/** `builds.gitlab.*` (GitLab system hooks, relayed by builds) into the projects and members projection, each message once. */
@Injectable()
export class GitLabConsumer {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly projection: GitLabProjection,
  ) {}

  async handle(envelope: Envelope): Promise<void> {
    const apply = this.effectOf(envelope);
    if (await applyOnce(this.dataSource, GITLAB_DURABLE, envelope.id, apply)) this.outbox.flush();
  }

  private effectOf(envelope: Envelope): (manager: EntityManager) => Promise<void> {
    const is = (c: { type: string; version: number }) => envelope.type === c.type && envelope.version === c.version;
    if (is(gitlabProjectCreatedV1) || is(gitlabProjectRenamedV1)) {
      const data = parseEnvelope(is(gitlabProjectCreatedV1) ? gitlabProjectCreatedV1 : gitlabProjectRenamedV1, envelope).data;
      return (m) => this.projection.projectChanged(m, data);
    }
    if (is(gitlabProjectDestroyedV1)) {
      const data = parseEnvelope(gitlabProjectDestroyedV1, envelope).data;
      return (m) => this.projection.projectDestroyed(m, data.projectId, data.place);
    }
    if (is(gitlabMemberAddedV1) || is(gitlabMemberUpdatedV1)) {
      const data = parseEnvelope(is(gitlabMemberAddedV1) ? gitlabMemberAddedV1 : gitlabMemberUpdatedV1, envelope).data;
      return (m) => this.projection.memberSet(m, data);
    }
    if (is(gitlabMemberRemovedV1)) {
      const data = parseEnvelope(gitlabMemberRemovedV1, envelope).data;
      return (m) => this.projection.memberRemoved(m, data.projectId, data.userId, data.place);
    }
    if (is(gitlabUserRenamedV1)) {
      const data = parseEnvelope(gitlabUserRenamedV1, envelope).data;
      return (m) => this.projection.userRenamed(m, data.from, data.to, data.place);
    }
    if (is(gitlabUserDestroyedV1)) {
      const data = parseEnvelope(gitlabUserDestroyedV1, envelope).data;
      return (m) => this.projection.userDestroyed(m, data.userId, data.place);
    }
    throw new PermanentMessageError(`${GITLAB_DURABLE} does not know ${envelope.type} v${envelope.version}`);
  }
}
