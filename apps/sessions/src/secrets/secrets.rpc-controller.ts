import { Controller } from '@nestjs/common';
import { type RpcInput, secretsRpc as rpc } from '@launchpad/contracts';
import { RpcHandler } from '@launchpad/messaging';
import { SecretsService } from './secrets.service.js';

@Controller()
export class SecretsRpcController {
  constructor(private readonly secrets: SecretsService) {}

  @RpcHandler(rpc.listUserSecrets)
  async listUserSecrets(req: RpcInput<typeof rpc.listUserSecrets>) {
    return { items: await this.secrets.listUserSecrets(req.caller, req.kind) };
  }

  @RpcHandler(rpc.getUserSecret)
  getUserSecret(req: RpcInput<typeof rpc.getUserSecret>) {
    return this.secrets.getUserSecret(req.id, req.caller);
  }

  @RpcHandler(rpc.createUserSecret)
  createUserSecret(req: RpcInput<typeof rpc.createUserSecret>) {
    return this.secrets.createUserSecret(req.input, req.caller);
  }

  @RpcHandler(rpc.updateUserSecret)
  updateUserSecret(req: RpcInput<typeof rpc.updateUserSecret>) {
    return this.secrets.updateUserSecret(req.id, req.input, req.caller);
  }

  @RpcHandler(rpc.deleteUserSecret)
  async deleteUserSecret(req: RpcInput<typeof rpc.deleteUserSecret>) {
    await this.secrets.deleteUserSecret(req.id, req.caller);
    return { ok: true as const };
  }

  @RpcHandler(rpc.listSlots)
  async listSlots(req: RpcInput<typeof rpc.listSlots>) {
    return { items: await this.secrets.listSlots(req.projectId, req.caller) };
  }

  @RpcHandler(rpc.createSlot)
  createSlot(req: RpcInput<typeof rpc.createSlot>) {
    return this.secrets.createSlot(req.projectId, req.input, req.caller);
  }

  @RpcHandler(rpc.updateSlot)
  updateSlot(req: RpcInput<typeof rpc.updateSlot>) {
    return this.secrets.updateSlot(req.projectId, req.id, req.input, req.caller);
  }

  @RpcHandler(rpc.deleteSlot)
  async deleteSlot(req: RpcInput<typeof rpc.deleteSlot>) {
    await this.secrets.deleteSlot(req.projectId, req.id, req.caller);
    return { ok: true as const };
  }

  @RpcHandler(rpc.fillSlot)
  fillSlot(req: RpcInput<typeof rpc.fillSlot>) {
    return this.secrets.fillSlot(req.projectId, req.id, req.input.secretId, req.caller);
  }

  @RpcHandler(rpc.clearSlot)
  clearSlot(req: RpcInput<typeof rpc.clearSlot>) {
    return this.secrets.clearSlot(req.projectId, req.id, req.caller);
  }
}
