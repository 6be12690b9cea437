import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { createLauncherInputSchema, environmentsRpc as rpc, type Principal, updateLauncherInputSchema, uuidSchema } from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import type { z } from 'zod';
import { Caller } from '../auth/auth.guard.js';
import { openApiSchema, ZodPipe } from '../http/zod.pipe.js';
import { projectIdPipe } from '../projects/projects.controller.js';

const launcherId = new ZodPipe(uuidSchema, 'launcher id');

@ApiTags('launchers')
@ApiBearerAuth()
@Controller()
export class LaunchersController {
  constructor(private readonly rpc: RpcClient) {}

  @Get('projects/:projectId/launchers')
  list(@Caller() caller: Principal, @Param('projectId', projectIdPipe) projectId: string) {
    return this.rpc.call(rpc.listLaunchers, { caller, projectId });
  }

  @Post('projects/:projectId/launchers')
  @ApiBody({ schema: openApiSchema(createLauncherInputSchema) })
  create(
    @Caller() caller: Principal,
    @Param('projectId', projectIdPipe) projectId: string,
    @Body(new ZodPipe(createLauncherInputSchema, 'launcher')) input: z.output<typeof createLauncherInputSchema>,
  ) {
    return this.rpc.call(rpc.createLauncher, { caller, projectId, input });
  }

  @Get('launchers/:id')
  get(@Caller() caller: Principal, @Param('id', launcherId) id: string) {
    return this.rpc.call(rpc.getLauncher, { caller, id });
  }

  @Patch('launchers/:id')
  @ApiBody({ schema: openApiSchema(updateLauncherInputSchema) })
  update(
    @Caller() caller: Principal,
    @Param('id', launcherId) id: string,
    @Body(new ZodPipe(updateLauncherInputSchema, 'launcher update')) input: z.output<typeof updateLauncherInputSchema>,
  ) {
    return this.rpc.call(rpc.updateLauncher, { caller, id, input });
  }

  /** A launcher made from code: move its pin to the build its updateAvailable names (no change without one). */
  @Post('launchers/:id/update-to-latest')
  @HttpCode(200)
  updateToLatest(@Caller() caller: Principal, @Param('id', launcherId) id: string) {
    return this.rpc.call(rpc.updateLauncherToLatest, { caller, id });
  }

  @Delete('launchers/:id')
  @HttpCode(204)
  async delete(@Caller() caller: Principal, @Param('id', launcherId) id: string): Promise<void> {
    await this.rpc.call(rpc.deleteLauncher, { caller, id });
  }
}
