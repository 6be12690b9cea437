import { Controller } from '@nestjs/common';
import { dataConnectorsRpc as rpc, type RpcInput } from '@launchpad/contracts';
import { RpcHandler } from '@launchpad/messaging';
import { DataConnectorsService } from './data-connectors.service.js';

@Controller()
export class DataConnectorsRpcController {
  constructor(private readonly connectors: DataConnectorsService) {}

  @RpcHandler(rpc.list)
  async list(req: RpcInput<typeof rpc.list>) {
    return { items: await this.connectors.list(req.projectId, req.caller) };
  }

  @RpcHandler(rpc.create)
  create(req: RpcInput<typeof rpc.create>) {
    return this.connectors.create(req.projectId, req.input, req.caller);
  }

  @RpcHandler(rpc.update)
  update(req: RpcInput<typeof rpc.update>) {
    return this.connectors.update(req.projectId, req.id, req.input, req.caller);
  }

  @RpcHandler(rpc.delete)
  async delete(req: RpcInput<typeof rpc.delete>) {
    await this.connectors.delete(req.projectId, req.id, req.caller);
    return { ok: true as const };
  }

  @RpcHandler(rpc.setCredentials)
  setCredentials(req: RpcInput<typeof rpc.setCredentials>) {
    return this.connectors.setCredentials(req.projectId, req.id, req.input.secrets, req.caller);
  }
}
