import { Logger } from '@nestjs/common';
import { type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import type { StreamDefinition } from '@launchpad/contracts';

export interface StreamSettings {
  /** How long events stay, so a consumer that was down can catch up. */
  maxAgeMs?: number;
  replicas?: number;
  duplicateWindowMs?: number;
}

const ns = (ms: number) => ms * 1_000_000;

/** Creates each stream, or brings an existing one to the declared subjects: safe on every start. */
export async function ensureStreams(
  jsm: JetStreamManager,
  streams: readonly StreamDefinition[],
  settings: StreamSettings = {},
  logger = new Logger('Streams'),
): Promise<void> {
  for (const stream of streams) {
    const config: Partial<StreamConfig> & { name: string } = {
      name: stream.name,
      subjects: [...stream.subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: ns(settings.maxAgeMs ?? 30 * 24 * 3600 * 1000),
      duplicate_window: ns(settings.duplicateWindowMs ?? 2 * 60 * 1000),
      num_replicas: settings.replicas ?? 1,
    };
    try {
      const existing = await jsm.streams.info(stream.name);
      const sameSubjects = JSON.stringify([...existing.config.subjects].sort()) === JSON.stringify([...stream.subjects].sort());
      if (!sameSubjects || existing.config.max_age !== config.max_age) {
        await jsm.streams.update(stream.name, { ...existing.config, ...config });
        logger.log(`updated stream ${stream.name}`);
      }
    } catch (error) {
      if (!/stream not found/i.test((error as Error).message)) throw error;
      await jsm.streams.add(config);
      logger.log(`created stream ${stream.name} on ${stream.subjects.join(', ')}`);
    }
  }
}
