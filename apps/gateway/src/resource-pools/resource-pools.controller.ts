import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import {
  createResourcePoolInputSchema,
  type Principal,
  resourceClassIdSchema,
  resourceClassInputSchema,
  sessionsRpc as rpc,
  updateResourceClassInputSchema,
  updateResourcePoolInputSchema,
  userIdSchema,
  uuidSchema,
} from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import type { z } from 'zod';
import { Caller } from '../auth/auth.guard.js';
import { openApiSchema, ZodPipe } from '../http/zod.pipe.js';

const poolId = new ZodPipe(uuidSchema, 'resource pool id');
const classId = new ZodPipe(resourceClassIdSchema, 'resource class id');
const userId = new ZodPipe(userIdSchema, 'user id');

/** Resource pools and classes: everyone lists the pools they may use; administrators manage them. */
@ApiTags('resource pools')
@ApiBearerAuth()
@Controller()
export class ResourcePoolsController {
  constructor(private readonly rpc: RpcClient) {}

  @Get('resource-pools')
  list(@Caller() caller: Principal) {
    return this.rpc.call(rpc.listPools, { caller });
  }

  @Get('resource-pools/:id')
  get(@Caller() caller: Principal, @Param('id', poolId) id: string) {
    return this.rpc.call(rpc.getPool, { caller, id });
  }

  @Post('resource-pools')
  @ApiBody({ schema: openApiSchema(createResourcePoolInputSchema) })
  create(@Caller() caller: Principal, @Body(new ZodPipe(createResourcePoolInputSchema, 'resource pool')) input: z.output<typeof createResourcePoolInputSchema>) {
    return this.rpc.call(rpc.createPool, { caller, input });
  }

  @Patch('resource-pools/:id')
  @ApiBody({ schema: openApiSchema(updateResourcePoolInputSchema) })
  update(
    @Caller() caller: Principal,
    @Param('id', poolId) id: string,
    @Body(new ZodPipe(updateResourcePoolInputSchema, 'resource pool update')) input: z.output<typeof updateResourcePoolInputSchema>,
  ) {
    return this.rpc.call(rpc.updatePool, { caller, id, input });
  }

  @Delete('resource-pools/:id')
  @HttpCode(204)
  async delete(@Caller() caller: Principal, @Param('id', poolId) id: string): Promise<void> {
    await this.rpc.call(rpc.deletePool, { caller, id });
  }

  @Post('resource-pools/:id/classes')
  @ApiBody({ schema: openApiSchema(resourceClassInputSchema) })
  addClass(
    @Caller() caller: Principal,
    @Param('id', poolId) id: string,
    @Body(new ZodPipe(resourceClassInputSchema, 'resource class')) input: z.output<typeof resourceClassInputSchema>,
  ) {
    return this.rpc.call(rpc.addClass, { caller, poolId: id, input });
  }

  @Patch('resource-classes/:classId')
  @ApiBody({ schema: openApiSchema(updateResourceClassInputSchema) })
  updateClass(
    @Caller() caller: Principal,
    @Param('classId', classId) id: string,
    @Body(new ZodPipe(updateResourceClassInputSchema, 'resource class update')) input: z.output<typeof updateResourceClassInputSchema>,
  ) {
    return this.rpc.call(rpc.updateClass, { caller, classId: id, input });
  }

  @Delete('resource-classes/:classId')
  @HttpCode(204)
  async deleteClass(@Caller() caller: Principal, @Param('classId', classId) id: string): Promise<void> {
    await this.rpc.call(rpc.deleteClass, { caller, classId: id });
  }

  @Put('resource-pools/:id/users/:userId')
  @HttpCode(204)
  async addUser(@Caller() caller: Principal, @Param('id', poolId) id: string, @Param('userId', userId) user: string): Promise<void> {
    await this.rpc.call(rpc.addPoolUser, { caller, poolId: id, userId: user });
  }

  @Delete('resource-pools/:id/users/:userId')
  @HttpCode(204)
  async removeUser(@Caller() caller: Principal, @Param('id', poolId) id: string, @Param('userId', userId) user: string): Promise<void> {
    await this.rpc.call(rpc.removePoolUser, { caller, poolId: id, userId: user });
  }
}
