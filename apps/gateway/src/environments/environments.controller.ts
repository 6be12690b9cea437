import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import {
  createEnvironmentInputSchema,
  environmentSchema,
  environmentSearchSchema,
  environmentsRpc as rpc,
  type Principal,
  updateEnvironmentInputSchema,
  uuidSchema,
} from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import { z } from 'zod';
import { Caller } from '../auth/auth.guard.js';
import { openApiSchema, ZodPipe } from '../http/zod.pipe.js';

const environmentId = new ZodPipe(uuidSchema, 'environment id');

@ApiTags('environments')
@ApiBearerAuth()
@Controller('environments')
export class EnvironmentsController {
  constructor(private readonly rpc: RpcClient) {}

  @Get()
  @ApiOkResponse({ schema: openApiSchema(z.object({ items: z.array(environmentSchema) }), 'output') })
  list(@Caller() caller: Principal, @Query(new ZodPipe(environmentSearchSchema, 'query')) query: z.output<typeof environmentSearchSchema>) {
    return this.rpc.call(rpc.listEnvironments, { caller, query });
  }

  @Get(':id')
  @ApiOkResponse({ schema: openApiSchema(environmentSchema, 'output') })
  get(@Caller() caller: Principal, @Param('id', environmentId) id: string) {
    return this.rpc.call(rpc.getEnvironment, { caller, id });
  }

  @Post()
  @ApiBody({ schema: openApiSchema(createEnvironmentInputSchema) })
  create(@Caller() caller: Principal, @Body(new ZodPipe(createEnvironmentInputSchema, 'environment')) input: z.output<typeof createEnvironmentInputSchema>) {
    return this.rpc.call(rpc.createEnvironment, { caller, input });
  }

  @Patch(':id')
  @ApiBody({ schema: openApiSchema(updateEnvironmentInputSchema) })
  update(
    @Caller() caller: Principal,
    @Param('id', environmentId) id: string,
    @Body(new ZodPipe(updateEnvironmentInputSchema, 'environment update')) input: z.output<typeof updateEnvironmentInputSchema>,
  ) {
    return this.rpc.call(rpc.updateEnvironment, { caller, id, input });
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Caller() caller: Principal, @Param('id', environmentId) id: string): Promise<void> {
    await this.rpc.call(rpc.deleteEnvironment, { caller, id });
  }
}
