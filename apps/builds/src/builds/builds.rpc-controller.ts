import { Controller } from '@nestjs/common';
import { buildsRpc as rpc, environmentsRpc, type RpcInput } from '@launchpad/contracts';
import { RpcClient, RpcHandler } from '@launchpad/messaging';
import { BuildsService } from './builds.service.js';

@Controller()
export class BuildsRpcController {
  constructor(
    private readonly builds: BuildsService,
    private readonly rpc: RpcClient,
  ) {}

  /** Whoever can read the project (environments decides, and hides projects a caller may not see) can read its builds. */
  @RpcHandler(rpc.listBuilds)
  async list(req: RpcInput<typeof rpc.listBuilds>) {
    await this.rpc.call(environmentsRpc.getProject, { caller: req.caller, projectId: req.projectId });
    return { items: await this.builds.list(req.projectId, req.query) };
  }

  @RpcHandler(rpc.imageForCommit)
  imageForCommit(req: RpcInput<typeof rpc.imageForCommit>) {
    return this.builds.forCommit(req.projectId, req.sha);
  }
}
