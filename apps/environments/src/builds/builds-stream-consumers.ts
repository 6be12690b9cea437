import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BUILDS_STREAM } from '@launchpad/contracts';
import { type DurableConsumerOptions, DurableConsumers } from '@launchpad/messaging';
import { GITLAB_DURABLE, GitLabConsumer } from '../gitlab/gitlab.consumer.js';
import { BUILDS_DURABLE, BuildsConsumer } from './builds.consumer.js';

/**
 * The durable consumers environments runs on the builds service's `BUILDS` stream. They start in
 * the background and keep retrying until builds has created the stream: environments must not
 * need builds to start first (nor at all).
 */
@Injectable()
export class BuildsStreamConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BuildsStreamConsumers.name);
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly consumers: DurableConsumers,
    private readonly builds: BuildsConsumer,
    private readonly gitlab: GitLabConsumer,
  ) {}

  onApplicationBootstrap(): void {
    const common = { stream: BUILDS_STREAM.name, backoffMs: [500, 2000, 10000] };
    this.startWhenStreamExists({ ...common, durable: BUILDS_DURABLE, filterSubjects: ['builds.build.>'], handler: (e) => this.builds.handle(e) });
    this.startWhenStreamExists({ ...common, durable: GITLAB_DURABLE, filterSubjects: ['builds.gitlab.>'], handler: (e) => this.gitlab.handle(e) });
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
  }

  private startWhenStreamExists(options: DurableConsumerOptions, retryMs = 1000, warned = false): void {
    if (this.stopped) return;
    this.consumers.start(options).catch((error: unknown) => {
      const message = (error as Error).message;
      if (!warned || !/stream not found/i.test(message)) {
        this.logger.warn(`${options.durable}: cannot consume ${options.stream} yet (${message}); retrying every ${retryMs} ms`);
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.startWhenStreamExists(options, retryMs, true);
      }, retryMs);
      this.timers.add(timer);
    });
  }
}
