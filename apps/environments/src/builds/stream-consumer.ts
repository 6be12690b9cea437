import { Logger } from '@nestjs/common';
import type { DurableConsumerOptions, DurableConsumers } from '@launchpad/messaging';

/**
 * Starts a durable consumer on another service's stream, waiting (in the background, retrying)
 * until that service has created the stream: environments must not need builds to start first.
 */
export function startWhenStreamExists(consumers: DurableConsumers, options: DurableConsumerOptions, logger: Logger, retryMs = 1000): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let warned = false;
  const attempt = async (): Promise<void> => {
    if (stopped) return;
    try {
      await consumers.start(options);
    } catch (error) {
      const message = (error as Error).message;
      if (!warned || !/stream not found/i.test(message)) {
        logger.warn(`${options.durable}: cannot consume ${options.stream} yet (${message}); retrying every ${retryMs} ms`);
        warned = true;
      }
      timer = setTimeout(() => void attempt(), retryMs);
    }
  };
  void attempt();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
