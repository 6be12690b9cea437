import { Controller } from '@nestjs/common';
import { environmentsRpc as rpc, type RpcInput } from '@launchpad/contracts';
import { RpcHandler } from '@launchpad/messaging';
import { EnvironmentsService } from './environments.service.js';

@Controller()
export class EnvironmentsRpcController {
  constructor(private readonly environments: EnvironmentsService) {}

  @RpcHandler(rpc.listEnvironments)
  async list(req: RpcInput<typeof rpc.listEnvironments>) {
    return { items: await this.environments.list(req.query) };
  }

  @RpcHandler(rpc.getEnvironment)
  get(req: RpcInput<typeof rpc.getEnvironment>) {
    return this.environments.get(req.id);
  }

  @RpcHandler(rpc.createEnvironment)
  create(req: RpcInput<typeof rpc.createEnvironment>) {
    return this.environments.create(req.input, req.caller);
  }

  @RpcHandler(rpc.updateEnvironment)
  update(req: RpcInput<typeof rpc.updateEnvironment>) {
    return this.environments.update(req.id, req.input, req.caller);
  }

  @RpcHandler(rpc.deleteEnvironment)
  async delete(req: RpcInput<typeof rpc.deleteEnvironment>) {
    await this.environments.delete(req.id, req.caller);
    return { ok: true as const };
  }
}
