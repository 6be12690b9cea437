import { Controller } from '@nestjs/common';
import { dataConnectorsRpc as rpc, type RpcInput } from '@launchpad/contracts';
import { RpcHandler } from '@launchpad/messaging';
import { UserDataConnectorsService } from './user-data-connectors.service.js';

@Controller()
export class UserDataConnectorsRpcController {
  constructor(private readonly connectors: UserDataConnectorsService) {}

  @RpcHandler(rpc.listOwn)
  async list(req: RpcInput<typeof rpc.listOwn>) {
    return { items: await this.connectors.list(req.caller) };
  }

  @RpcHandler(rpc.getOwn)
  get(req: RpcInput<typeof rpc.getOwn>) {
    return this.connectors.get(req.id, req.caller);
  }

  @RpcHandler(rpc.createOwn)
  create(req: RpcInput<typeof rpc.createOwn>) {
    return this.connectors.create(req.input, req.caller);
  }

  @RpcHandler(rpc.updateOwn)
  update(req: RpcInput<typeof rpc.updateOwn>) {
    return this.connectors.update(req.id, req.input, req.caller);
  }

  @RpcHandler(rpc.deleteOwn)
  async delete(req: RpcInput<typeof rpc.deleteOwn>) {
    await this.connectors.delete(req.id, req.caller);
    return { ok: true as const };
  }
}
