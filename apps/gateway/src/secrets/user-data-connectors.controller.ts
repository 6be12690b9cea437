import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import {
  createUserDataConnectorInputSchema,
  dataConnectorsRpc as rpc,
  type Principal,
  updateUserDataConnectorInputSchema,
  userDataConnectorSchema,
  uuidSchema,
} from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import { z } from 'zod';
import { Caller } from '../auth/auth.guard.js';
import { openApiSchema, ZodPipe } from '../http/zod.pipe.js';

const connectorId = new ZodPipe(uuidSchema, 'data connector id');

/** The caller's own data connectors, mounted into every session of theirs beside the project's; nobody else sees them. */
@ApiTags('data connectors')
@ApiBearerAuth()
@Controller('user/data-connectors')
export class UserDataConnectorsController {
  constructor(private readonly rpc: RpcClient) {}

  @Get()
  @ApiOkResponse({ schema: openApiSchema(z.object({ items: z.array(userDataConnectorSchema) }), 'output') })
  list(@Caller() caller: Principal) {
    return this.rpc.call(rpc.listOwn, { caller });
  }

  @Get(':id')
  @ApiOkResponse({ schema: openApiSchema(userDataConnectorSchema, 'output') })
  get(@Caller() caller: Principal, @Param('id', connectorId) id: string) {
    return this.rpc.call(rpc.getOwn, { caller, id });
  }

  @Post()
  @ApiBody({ schema: openApiSchema(createUserDataConnectorInputSchema) })
  create(@Caller() caller: Principal, @Body(new ZodPipe(createUserDataConnectorInputSchema, 'data connector')) input: z.output<typeof createUserDataConnectorInputSchema>) {
    return this.rpc.call(rpc.createOwn, { caller, input });
  }

  @Patch(':id')
  @ApiBody({ schema: openApiSchema(updateUserDataConnectorInputSchema) })
  update(
    @Caller() caller: Principal,
    @Param('id', connectorId) id: string,
    @Body(new ZodPipe(updateUserDataConnectorInputSchema, 'data connector update')) input: z.output<typeof updateUserDataConnectorInputSchema>,
  ) {
    return this.rpc.call(rpc.updateOwn, { caller, id, input });
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Caller() caller: Principal, @Param('id', connectorId) id: string): Promise<void> {
    await this.rpc.call(rpc.deleteOwn, { caller, id });
  }
}
