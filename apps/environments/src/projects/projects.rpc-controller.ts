import { Controller } from '@nestjs/common';
import { environmentsRpc as rpc, type RpcInput } from '@launchpad/contracts';
import { RpcHandler } from '@launchpad/messaging';
import { ProjectsService } from './projects.service.js';

@Controller()
export class ProjectsRpcController {
  constructor(private readonly projects: ProjectsService) {}

  @RpcHandler(rpc.listProjects)
  async list(req: RpcInput<typeof rpc.listProjects>) {
    return { items: await this.projects.list(req.caller) };
  }

  @RpcHandler(rpc.getProject)
  get(req: RpcInput<typeof rpc.getProject>) {
    return this.projects.get(req.projectId, req.caller);
  }

  @RpcHandler(rpc.upsertProject)
  upsert(req: RpcInput<typeof rpc.upsertProject>) {
    return this.projects.upsert(req.projectId, req.input, req.caller);
  }

  @RpcHandler(rpc.listMembers)
  async members(req: RpcInput<typeof rpc.listMembers>) {
    return { items: await this.projects.listMembers(req.projectId, req.caller) };
  }

  @RpcHandler(rpc.setMember)
  setMember(req: RpcInput<typeof rpc.setMember>) {
    return this.projects.setMember(req.projectId, req.userId, req.input.role, req.caller);
  }

  @RpcHandler(rpc.removeMember)
  async removeMember(req: RpcInput<typeof rpc.removeMember>) {
    await this.projects.removeMember(req.projectId, req.userId, req.caller);
    return { ok: true as const };
  }
}
