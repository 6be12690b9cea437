import { Controller } from '@nestjs/common';
import { type RpcInput, sessionsRpc as rpc } from '@launchpad/contracts';
import { RpcHandler } from '@launchpad/messaging';
import { ResourcePoolsService } from './resource-pools.service.js';

const ok = { ok: true as const };

@Controller()
export class ResourcePoolsRpcController {
  constructor(private readonly pools: ResourcePoolsService) {}

  @RpcHandler(rpc.listPools)
  async list(req: RpcInput<typeof rpc.listPools>) {
    return { items: await this.pools.list(req.caller) };
  }

  @RpcHandler(rpc.getPool)
  get(req: RpcInput<typeof rpc.getPool>) {
    return this.pools.get(req.id, req.caller);
  }

  @RpcHandler(rpc.createPool)
  create(req: RpcInput<typeof rpc.createPool>) {
    return this.pools.create(req.input, req.caller);
  }

  @RpcHandler(rpc.updatePool)
  update(req: RpcInput<typeof rpc.updatePool>) {
    return this.pools.update(req.id, req.input, req.caller);
  }

  @RpcHandler(rpc.deletePool)
  async delete(req: RpcInput<typeof rpc.deletePool>) {
    await this.pools.delete(req.id, req.caller);
    return ok;
  }

  @RpcHandler(rpc.addClass)
  addClass(req: RpcInput<typeof rpc.addClass>) {
    return this.pools.addClass(req.poolId, req.input, req.caller);
  }

  @RpcHandler(rpc.updateClass)
  updateClass(req: RpcInput<typeof rpc.updateClass>) {
    return this.pools.updateClass(req.classId, req.input, req.caller);
  }

  @RpcHandler(rpc.deleteClass)
  async deleteClass(req: RpcInput<typeof rpc.deleteClass>) {
    await this.pools.deleteClass(req.classId, req.caller);
    return ok;
  }

  @RpcHandler(rpc.addPoolUser)
  async addUser(req: RpcInput<typeof rpc.addPoolUser>) {
    await this.pools.addUser(req.poolId, req.userId, req.caller);
    return ok;
  }

  @RpcHandler(rpc.removePoolUser)
  async removeUser(req: RpcInput<typeof rpc.removePoolUser>) {
    await this.pools.removeUser(req.poolId, req.userId, req.caller);
    return ok;
  }
}
