import { Body, Controller, Get, Param, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { buildSearchSchema, buildsRpc as rpc, type Principal, setWebhookSecretInputSchema } from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import type { z } from 'zod';
import { Caller } from '../auth/auth.guard.js';
import { openApiSchema, ZodPipe } from '../http/zod.pipe.js';
import { projectIdPipe } from '../projects/projects.controller.js';

@ApiTags('builds')
@ApiBearerAuth()
@Controller('projects/:projectId')
export class BuildsController {
  constructor(private readonly rpc: RpcClient) {}

  /** The image builds of a project, newest first: anyone who can read the project. */
  @Get('builds')
  list(
    @Caller() caller: Principal,
    @Param('projectId', projectIdPipe) projectId: string,
    @Query(new ZodPipe(buildSearchSchema, 'build search')) query: z.output<typeof buildSearchSchema>,
  ) {
    return this.rpc.call(rpc.listBuilds, { caller, projectId, query });
  }

  /** The secret GitLab sends as X-Gitlab-Token with the project's webhooks; stored hashed. Maintainers, owners and admins. */
  @Put('webhook-secret')
  @ApiBody({ schema: openApiSchema(setWebhookSecretInputSchema) })
  setWebhookSecret(
    @Caller() caller: Principal,
    @Param('projectId', projectIdPipe) projectId: string,
    @Body(new ZodPipe(setWebhookSecretInputSchema, 'webhook secret')) input: z.output<typeof setWebhookSecretInputSchema>,
  ) {
    return this.rpc.call(rpc.setWebhookSecret, { caller, projectId, input });
  }
}
