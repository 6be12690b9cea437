import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
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
import type { Response } from 'express';
import { z } from 'zod';
import { Caller } from '../auth/auth.guard.js';
import { openApiSchema, ZodPipe } from '../http/zod.pipe.js';
import { EnvironmentList } from './environment-list.js';

const environmentId = new ZodPipe(uuidSchema, 'environment id');

@ApiTags('environments')
@ApiBearerAuth()
@Controller('environments')
export class EnvironmentsController {
  constructor(
    private readonly rpc: RpcClient,
    private readonly lists: EnvironmentList,
  ) {}

  /** The list's bytes as kept (see EnvironmentList), with their ETag: a client's If-None-Match gets a 304 without asking the environments service. */
  @Get()
  @ApiOkResponse({ schema: openApiSchema(z.object({ items: z.array(environmentSchema) }), 'output') })
  async list(
    @Caller() caller: Principal,
    @Query(new ZodPipe(environmentSearchSchema, 'query')) query: z.output<typeof environmentSearchSchema>,
    @Res() res: Response,
  ): Promise<void> {
    const body = await this.lists.list(caller, query);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('ETag', body.etag);
    res.send(body.bytes);
  }

  @Get(':id')
  @ApiOkResponse({ schema: openApiSchema(environmentSchema, 'output') })
  get(@Caller() caller: Principal, @Param('id', environmentId) id: string) {
    return this.rpc.call(rpc.getEnvironment, { caller, id });
  }

  @Post()
  @ApiBody({ schema: openApiSchema(createEnvironmentInputSchema) })
  create(@Caller() caller: Principal, @Body(new ZodPipe(createEnvironmentInputSchema, 'environment')) input: z.output<typeof createEnvironmentInputSchema>) {
    return this.changing(this.rpc.call(rpc.createEnvironment, { caller, input }));
  }

  @Patch(':id')
  @ApiBody({ schema: openApiSchema(updateEnvironmentInputSchema) })
  update(
    @Caller() caller: Principal,
    @Param('id', environmentId) id: string,
    @Body(new ZodPipe(updateEnvironmentInputSchema, 'environment update')) input: z.output<typeof updateEnvironmentInputSchema>,
  ) {
    return this.changing(this.rpc.call(rpc.updateEnvironment, { caller, id, input }));
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Caller() caller: Principal, @Param('id', environmentId) id: string): Promise<void> {
    await this.changing(this.rpc.call(rpc.deleteEnvironment, { caller, id }));
  }

  /**
   * A change's answer, once this gateway's lists are dropped: its caller reads the change at once.
   * A failure too (a timeout may come after the commit).
   */
  private async changing<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } finally {
      this.lists.changed();
    }
  }
}
