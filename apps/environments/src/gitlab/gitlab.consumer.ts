import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import {
  BUILDS_STREAM,
  type Envelope,
  gitlabMemberAddedV1,
  gitlabMemberRemovedV1,
  gitlabMemberUpdatedV1,
  gitlabProjectCreatedV1,
  gitlabProjectDestroyedV1,
  gitlabProjectRenamedV1,
  parseEnvelope,
} from '@launchpad/contracts';
import { applyOnce, DurableConsumers, OutboxWriter, PermanentMessageError } from '@launchpad/messaging';
import { DataSource, type EntityManager } from 'typeorm';
import { startWhenStreamExists } from '../builds/stream-consumer.js';
import { GitLabProjection } from './gitlab-projection.js';

const DURABLE = 'environments-gitlab';

/** Consumes `builds.gitlab.*` (GitLab system hooks) into the projects and members projection, each message once. */
@Injectable()
export class GitLabConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(GitLabConsumer.name);
  private starter: { stop(): void } | undefined;

  constructor(
    private readonly consumers: DurableConsumers,
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly projection: GitLabProjection,
  ) {}

  onApplicationBootstrap(): void {
    this.starter = startWhenStreamExists(
      this.consumers,
      { stream: BUILDS_STREAM.name, durable: DURABLE, filterSubjects: ['builds.gitlab.>'], backoffMs: [500, 2000, 10000], handler: (e) => this.handle(e) },
      this.logger,
    );
  }

  onApplicationShutdown(): void {
    this.starter?.stop();
  }

  async handle(envelope: Envelope): Promise<void> {
    const apply = this.effectOf(envelope);
    if (await applyOnce(this.dataSource, DURABLE, envelope.id, apply)) this.outbox.flush();
  }

  private effectOf(envelope: Envelope): (manager: EntityManager) => Promise<void> {
    const is = (c: { type: string; version: number }) => envelope.type === c.type && envelope.version === c.version;
    if (is(gitlabProjectCreatedV1) || is(gitlabProjectRenamedV1)) {
      const data = parseEnvelope(is(gitlabProjectCreatedV1) ? gitlabProjectCreatedV1 : gitlabProjectRenamedV1, envelope).data;
      return (m) => this.projection.projectChanged(m, data);
    }
    if (is(gitlabProjectDestroyedV1)) {
      const data = parseEnvelope(gitlabProjectDestroyedV1, envelope).data;
      return (m) => this.projection.projectDestroyed(m, data.projectId);
    }
    if (is(gitlabMemberAddedV1) || is(gitlabMemberUpdatedV1)) {
      const data = parseEnvelope(is(gitlabMemberAddedV1) ? gitlabMemberAddedV1 : gitlabMemberUpdatedV1, envelope).data;
      return (m) => this.projection.memberSet(m, data);
    }
    if (is(gitlabMemberRemovedV1)) {
      const data = parseEnvelope(gitlabMemberRemovedV1, envelope).data;
      return (m) => this.projection.memberRemoved(m, data.projectId, data.userId);
    }
    throw new PermanentMessageError(`${DURABLE} does not know ${envelope.type} v${envelope.version}`);
  }
}
