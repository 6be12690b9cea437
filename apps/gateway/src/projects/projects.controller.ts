import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import {
  environmentsRpc as rpc,
  type Principal,
  projectIdSchema,
  setMemberInputSchema,
  upsertProjectInputSchema,
  userIdSchema,
} from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import type { z } from 'zod';
import { Caller } from '../auth/auth.guard.js';
import { openApiSchema, ZodPipe } from '../http/zod.pipe.js';

export const projectIdPipe = new ZodPipe(projectIdSchema, 'project id');
const userIdPipe = new ZodPipe(userIdSchema, 'user id');

@ApiTags('projects')
@ApiBearerAuth()
@Controller('projects')
export class ProjectsController {
  constructor(private readonly rpc: RpcClient) {}

  @Get()
  list(@Caller() caller: Principal) {
    return this.rpc.call(rpc.listProjects, { caller });
  }

  @Get(':projectId')
  get(@Caller() caller: Principal, @Param('projectId', projectIdPipe) projectId: string) {
    return this.rpc.call(rpc.getProject, { caller, projectId });
  }

  /** Admin/system API: keeps the projection of the platform's projects up to date. */
  @Put(':projectId')
  @ApiBody({ schema: openApiSchema(upsertProjectInputSchema) })
  upsert(
    @Caller() caller: Principal,
    @Param('projectId', projectIdPipe) projectId: string,
    @Body(new ZodPipe(upsertProjectInputSchema, 'project')) input: z.output<typeof upsertProjectInputSchema>,
  ) {
    return this.rpc.call(rpc.upsertProject, { caller, projectId, input });
  }

  @Get(':projectId/members')
  members(@Caller() caller: Principal, @Param('projectId', projectIdPipe) projectId: string) {
    return this.rpc.call(rpc.listMembers, { caller, projectId });
  }

  @Put(':projectId/members/:userId')
  @ApiBody({ schema: openApiSchema(setMemberInputSchema) })
  setMember(
    @Caller() caller: Principal,
    @Param('projectId', projectIdPipe) projectId: string,
    @Param('userId', userIdPipe) userId: string,
    @Body(new ZodPipe(setMemberInputSchema, 'membership')) input: z.output<typeof setMemberInputSchema>,
  ) {
    return this.rpc.call(rpc.setMember, { caller, projectId, userId, input });
  }

  @Delete(':projectId/members/:userId')
  @HttpCode(204)
  async removeMember(@Caller() caller: Principal, @Param('projectId', projectIdPipe) projectId: string, @Param('userId', userIdPipe) userId: string) {
    await this.rpc.call(rpc.removeMember, { caller, projectId, userId });
  }
}
