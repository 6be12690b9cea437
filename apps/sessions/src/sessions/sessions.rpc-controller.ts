import { Controller } from '@nestjs/common';
import { type RpcInput, sessionsRpc as rpc } from '@launchpad/contracts';
import { RpcHandler } from '@launchpad/messaging';
import { SessionsService } from './sessions.service.js';

@Controller()
export class SessionsRpcController {
  constructor(private readonly sessions: SessionsService) {}

  @RpcHandler(rpc.launch)
  launch(req: RpcInput<typeof rpc.launch>) {
    return this.sessions.launch(req.input, req.caller);
  }

  @RpcHandler(rpc.list)
  async list(req: RpcInput<typeof rpc.list>) {
    return { items: await this.sessions.list(req.caller) };
  }

  @RpcHandler(rpc.get)
  get(req: RpcInput<typeof rpc.get>) {
    return this.sessions.get(req.id, req.caller);
  }

  @RpcHandler(rpc.update)
  update(req: RpcInput<typeof rpc.update>) {
    return this.sessions.update(req.id, req.input, req.caller);
  }

  @RpcHandler(rpc.delete)
  async delete(req: RpcInput<typeof rpc.delete>) {
    await this.sessions.delete(req.id, req.caller);
    return { ok: true as const };
  }

  @RpcHandler(rpc.logs)
  async logs(req: RpcInput<typeof rpc.logs>) {
    return { lines: await this.sessions.logs(req.id, req.lines, req.caller) };
  }

  @RpcHandler(rpc.progress)
  progress(req: RpcInput<typeof rpc.progress>) {
    return this.sessions.progress(req.id, req.afterSeq, req.caller);
  }

  @RpcHandler(rpc.route)
  route(req: RpcInput<typeof rpc.route>) {
    return this.sessions.route(req.id, req.caller);
  }
}
