import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { CommonErrorCode, defineRpc } from '@launchpad/contracts';
import type { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { z } from 'zod';
import { startNats, type TestNats, uniqueSuffix } from '../../../tools/testing/harness.js';
import { RpcCallError, RpcClient, RpcServer } from './rpc.js';

/** Request-reply over a real nats-server (max_payload 1 MiB, its default). */
describe('RPC over NATS', () => {
  const suffix = uniqueSuffix();
  const echo = defineRpc(`test${suffix}.rpc.echo`, z.object({ bytes: z.number().int() }), z.object({ text: z.string() }));
  let nats: TestNats;
  let serverConnection: NatsConnection;
  let clientConnection: NatsConnection;
  let server: RpcServer;
  let client: RpcClient;

  beforeAll(async () => {
    nats = await startNats();
    serverConnection = await connect({ servers: nats.url, ...nats.auth });
    clientConnection = await connect({ servers: nats.url, ...nats.auth });
    server = new RpcServer(serverConnection, {} as DiscoveryService, {} as MetadataScanner, 'test');
    server.serve(echo, async (request) => ({ text: 'x'.repeat((request as { bytes: number }).bytes) }));
    client = new RpcClient(clientConnection, 5000);
  });

  afterAll(async () => {
    server?.onApplicationShutdown();
    await serverConnection?.close();
    await clientConnection?.close();
    await nats?.dispose();
  });

  it('answers a reply larger than the server may send with an error, and goes on answering', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const error = await client.call(echo, { bytes: 2 * 1024 * 1024 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RpcCallError);
      expect(error).toMatchObject({ code: CommonErrorCode.INTERNAL, message: 'the reply was too large to send; ask for less' });
      expect(await client.call(echo, { bytes: 5 })).toEqual({ text: 'xxxxx' });
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
