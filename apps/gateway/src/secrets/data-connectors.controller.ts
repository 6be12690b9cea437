import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import {
  createDataConnectorInputSchema,
  dataConnectorCredentialsInputSchema,
  dataConnectorSchema,
  dataConnectorsRpc as rpc,
  type Principal,
  updateDataConnectorInputSchema,
  uuidSchema,
} from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import { z } from 'zod';
import { Caller } from '../auth/auth.guard.js';
import { openApiSchema, ZodPipe } from '../http/zod.pipe.js';
import { projectIdPipe } from '../projects/projects.controller.js';

const connectorId = new ZodPipe(uuidSchema, 'data connector id');

/** A project's data connectors (rclone storage mounted at /work/<targetPath> in its sessions), kept by the sessions service. */
@ApiTags('data connectors')
@ApiBearerAuth()
@Controller('projects/:projectId/data-connectors')
export class DataConnectorsController {
  constructor(private readonly rpc: RpcClient) {}

  @Get()
  @ApiOkResponse({ schema: openApiSchema(z.object({ items: z.array(dataConnectorSchema) }), 'output') })
  list(@Caller() caller: Principal, @Param('projectId', projectIdPipe) projectId: string) {
    return this.rpc.call(rpc.list, { caller, projectId });
  }

  @Post()
  @ApiBody({ schema: openApiSchema(createDataConnectorInputSchema) })
  create(
    @Caller() caller: Principal,
    @Param('projectId', projectIdPipe) projectId: string,
    @Body(new ZodPipe(createDataConnectorInputSchema, 'data connector')) input: z.output<typeof createDataConnectorInputSchema>,
  ) {
    return this.rpc.call(rpc.create, { caller, projectId, input });
  }

  @Patch(':id')
  @ApiBody({ schema: openApiSchema(updateDataConnectorInputSchema) })
  update(
    @Caller() caller: Principal,
    @Param('projectId', projectIdPipe) projectId: string,
    @Param('id', connectorId) id: string,
    @Body(new ZodPipe(updateDataConnectorInputSchema, 'data connector update')) input: z.output<typeof updateDataConnectorInputSchema>,
  ) {
    return this.rpc.call(rpc.update, { caller, projectId, id, input });
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Caller() caller: Principal, @Param('projectId', projectIdPipe) projectId: string, @Param('id', connectorId) id: string): Promise<void> {
    await this.rpc.call(rpc.delete, { caller, projectId, id });
  }

  /** The caller's own credentials: which of their storage secrets fill which rclone options. */
  @Put(':id/credentials')
  @ApiBody({ schema: openApiSchema(dataConnectorCredentialsInputSchema) })
  setCredentials(
    @Caller() caller: Principal,
    @Param('projectId', projectIdPipe) projectId: string,
    @Param('id', connectorId) id: string,
    @Body(new ZodPipe(dataConnectorCredentialsInputSchema, 'data connector credentials')) input: z.output<typeof dataConnectorCredentialsInputSchema>,
  ) {
    return this.rpc.call(rpc.setCredentials, { caller, projectId, id, input });
  }
}
