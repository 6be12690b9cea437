import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DurableConsumers } from './consumer.js';
import { OutboxRelay, type OutboxRelayOptions, OutboxWriter } from './outbox.js';
import { RpcClient, RpcServer } from './rpc.js';

/** RPC serving and calling, the outbox and durable consumers; needs NatsModule (and a DataSource for the outbox). */
@Module({})
export class MessagingModule {
  static forService(options: { queueGroup: string; outbox?: Partial<OutboxRelayOptions>; rpcTimeoutMs?: number }): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [
        { provide: 'RPC_QUEUE_GROUP', useValue: options.queueGroup },
        { provide: 'RPC_DEFAULT_TIMEOUT_MS', useValue: options.rpcTimeoutMs ?? 5000 },
        RpcServer,
        RpcClient,
        OutboxWriter,
        {
          provide: 'OUTBOX_RELAY_OPTIONS',
          useValue: { pollIntervalMs: 1000, batchSize: 100, retentionMs: 24 * 3600 * 1000, ...options.outbox },
        },
        OutboxRelay,
        DurableConsumers,
      ],
      exports: [RpcClient, OutboxWriter, OutboxRelay, DurableConsumers],
    };
  }

  /** For the gateway: calls services, serves nothing, owns no outbox. */
  static forClient(defaultTimeoutMs = 5000): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [{ provide: 'RPC_DEFAULT_TIMEOUT_MS', useValue: defaultTimeoutMs }, RpcClient],
      exports: [RpcClient],
    };
  }
}
