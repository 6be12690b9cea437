import { Controller } from '@nestjs/common';
import { environmentsRpc as rpc, type RpcInput } from '@launchpad/contracts';
import { RpcHandler } from '@launchpad/messaging';
import { LaunchersService } from './launchers.service.js';

@Controller()
export class LaunchersRpcController {
  constructor(private readonly launchers: LaunchersService) {}

  @RpcHandler(rpc.listLaunchers)
  async list(req: RpcInput<typeof rpc.listLaunchers>) {
    return { items: await this.launchers.list(req.projectId, req.caller) };
  }

  @RpcHandler(rpc.getLauncher)
  get(req: RpcInput<typeof rpc.getLauncher>) {
    return this.launchers.get(req.id, req.caller);
  }

  @RpcHandler(rpc.getLauncherWithProject)
  getWithProject(req: RpcInput<typeof rpc.getLauncherWithProject>) {
    return this.launchers.getWithProject(req.id, req.caller);
  }

  @RpcHandler(rpc.createLauncher)
  create(req: RpcInput<typeof rpc.createLauncher>) {
    return this.launchers.create(req.projectId, req.input, req.caller);
  }

  @RpcHandler(rpc.updateLauncher)
  update(req: RpcInput<typeof rpc.updateLauncher>) {
    return this.launchers.update(req.id, req.input, req.caller);
  }

  @RpcHandler(rpc.updateLauncherToLatest)
  updateToLatest(req: RpcInput<typeof rpc.updateLauncherToLatest>) {
    return this.launchers.updateToLatest(req.id, req.caller);
  }

  @RpcHandler(rpc.getLauncherSecretValues)
  async secretValues(req: RpcInput<typeof rpc.getLauncherSecretValues>) {
    return { values: await this.launchers.secretValues(req.id, req.caller) };
  }

  @RpcHandler(rpc.deleteLauncher)
  async delete(req: RpcInput<typeof rpc.deleteLauncher>) {
    await this.launchers.delete(req.id, req.caller);
    return { ok: true as const };
  }
}
