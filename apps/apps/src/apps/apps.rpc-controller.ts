import { Controller, Injectable } from '@nestjs/common';
import type { CatalogueChange, CatalogueHooks } from '@launchpad/catalogue';
import { appsRpc as rpc, type RpcInput } from '@launchpad/contracts';
import { RpcHandler } from '@launchpad/messaging';
import { AppsService } from './apps.service.js';

@Controller()
export class AppsRpcController {
  constructor(private readonly apps: AppsService) {}

  @RpcHandler(rpc.activate)
  activate(req: RpcInput<typeof rpc.activate>) {
    return this.apps.activate(req.launcherId, req.input, req.caller);
  }

  @RpcHandler(rpc.deactivate)
  deactivate(req: RpcInput<typeof rpc.deactivate>) {
    return this.apps.deactivate(req.launcherId, req.caller);
  }

  @RpcHandler(rpc.get)
  get(req: RpcInput<typeof rpc.get>) {
    return this.apps.get(req.launcherId, req.caller);
  }

  @RpcHandler(rpc.logs)
  logs(req: RpcInput<typeof rpc.logs>) {
    return this.apps.logs(req.launcherId, req.lines, req.cursor, req.caller);
  }

  @RpcHandler(rpc.followLogs)
  followLogs(req: RpcInput<typeof rpc.followLogs>) {
    return this.apps.followLogs(req.launcherId, req.lines, req.streamId, req.caller);
  }
}

/** What the apps service does when the catalogue changes: a deleted launcher takes its app with it. */
@Injectable()
export class AppsCatalogueHooks implements CatalogueHooks {
  constructor(private readonly apps: AppsService) {}

  launcherDeleted(change: CatalogueChange, launcherId: string): Promise<void> {
    return this.apps.retire(change, launcherId);
  }
}
