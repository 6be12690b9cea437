import { Controller } from '@nestjs/common';
import { buildsRpc as rpc, type RpcInput } from '@launchpad/contracts';
import { RpcHandler } from '@launchpad/messaging';
import { ReceiveWebhook } from './receive-webhook.usecase.js';
import { WebhookSecrets } from './webhook-secrets.js';

@Controller()
export class WebhooksRpcController {
  constructor(
    private readonly receive: ReceiveWebhook,
    private readonly secrets: WebhookSecrets,
  ) {}

  @RpcHandler(rpc.receiveGitLabWebhook)
  gitlab(req: RpcInput<typeof rpc.receiveGitLabWebhook>) {
    return this.receive.execute(req.headers, req.body);
  }

  @RpcHandler(rpc.setWebhookSecret)
  setSecret(req: RpcInput<typeof rpc.setWebhookSecret>) {
    return this.secrets.set(req.projectId, req.input.secret, req.caller);
  }
}
