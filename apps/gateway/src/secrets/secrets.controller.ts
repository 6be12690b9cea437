import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import {
  createSecretSlotInputSchema,
  createUserSecretInputSchema,
  fillSecretSlotInputSchema,
  type Principal,
  secretKindSchema,
  secretSlotSchema,
  secretsRpc as rpc,
  updateSecretSlotInputSchema,
  updateUserSecretInputSchema,
  userSecretSchema,
  uuidSchema,
} from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import { z } from 'zod';
import { Caller } from '../auth/auth.guard.js';
import { openApiSchema, ZodPipe } from '../http/zod.pipe.js';
import { projectIdPipe } from '../projects/projects.controller.js';

const secretId = new ZodPipe(uuidSchema, 'secret id');
const slotId = new ZodPipe(uuidSchema, 'secret slot id');
const listQuery = new ZodPipe(z.strictObject({ kind: secretKindSchema.optional() }), 'query');

/**
 * A user's own secrets (never answered with their values) and a project's secret slots, which
 * each user fills with a secret of their own for their sessions' /secrets. Kept by the sessions service.
 */
@ApiTags('secrets')
@ApiBearerAuth()
@Controller()
export class SecretsController {
  constructor(private readonly rpc: RpcClient) {}

  @Get('user/secrets')
  @ApiOkResponse({ schema: openApiSchema(z.object({ items: z.array(userSecretSchema) }), 'output') })
  list(@Caller() caller: Principal, @Query(listQuery) query: { kind?: 'general' | 'storage' }) {
    return this.rpc.call(rpc.listUserSecrets, { caller, ...(query.kind ? { kind: query.kind } : {}) });
  }

  @Get('user/secrets/:id')
  @ApiOkResponse({ schema: openApiSchema(userSecretSchema, 'output') })
  get(@Caller() caller: Principal, @Param('id', secretId) id: string) {
    return this.rpc.call(rpc.getUserSecret, { caller, id });
  }

  @Post('user/secrets')
  @ApiBody({ schema: openApiSchema(createUserSecretInputSchema) })
  create(@Caller() caller: Principal, @Body(new ZodPipe(createUserSecretInputSchema, 'secret')) input: z.output<typeof createUserSecretInputSchema>) {
    return this.rpc.call(rpc.createUserSecret, { caller, input });
  }

  @Patch('user/secrets/:id')
  @ApiBody({ schema: openApiSchema(updateUserSecretInputSchema) })
  update(
    @Caller() caller: Principal,
    @Param('id', secretId) id: string,
    @Body(new ZodPipe(updateUserSecretInputSchema, 'secret update')) input: z.output<typeof updateUserSecretInputSchema>,
  ) {
    return this.rpc.call(rpc.updateUserSecret, { caller, id, input });
  }

  @Delete('user/secrets/:id')
  @HttpCode(204)
  async delete(@Caller() caller: Principal, @Param('id', secretId) id: string): Promise<void> {
    await this.rpc.call(rpc.deleteUserSecret, { caller, id });
  }

  @Get('projects/:projectId/secret-slots')
  @ApiOkResponse({ schema: openApiSchema(z.object({ items: z.array(secretSlotSchema) }), 'output') })
  listSlots(@Caller() caller: Principal, @Param('projectId', projectIdPipe) projectId: string) {
    return this.rpc.call(rpc.listSlots, { caller, projectId });
  }

  @Post('projects/:projectId/secret-slots')
  @ApiBody({ schema: openApiSchema(createSecretSlotInputSchema) })
  createSlot(
    @Caller() caller: Principal,
    @Param('projectId', projectIdPipe) projectId: string,
    @Body(new ZodPipe(createSecretSlotInputSchema, 'secret slot')) input: z.output<typeof createSecretSlotInputSchema>,
  ) {
    return this.rpc.call(rpc.createSlot, { caller, projectId, input });
  }

  @Patch('projects/:projectId/secret-slots/:id')
  @ApiBody({ schema: openApiSchema(updateSecretSlotInputSchema) })
  updateSlot(
    @Caller() caller: Principal,
    @Param('projectId', projectIdPipe) projectId: string,
    @Param('id', slotId) id: string,
    @Body(new ZodPipe(updateSecretSlotInputSchema, 'secret slot update')) input: z.output<typeof updateSecretSlotInputSchema>,
  ) {
    return this.rpc.call(rpc.updateSlot, { caller, projectId, id, input });
  }

  @Delete('projects/:projectId/secret-slots/:id')
  @HttpCode(204)
  async deleteSlot(@Caller() caller: Principal, @Param('projectId', projectIdPipe) projectId: string, @Param('id', slotId) id: string): Promise<void> {
    await this.rpc.call(rpc.deleteSlot, { caller, projectId, id });
  }

  /** Fills the slot for the caller's own sessions with one of the caller's own secrets. */
  @Put('projects/:projectId/secret-slots/:id/secret')
  @ApiBody({ schema: openApiSchema(fillSecretSlotInputSchema) })
  fillSlot(
    @Caller() caller: Principal,
    @Param('projectId', projectIdPipe) projectId: string,
    @Param('id', slotId) id: string,
    @Body(new ZodPipe(fillSecretSlotInputSchema, 'slot secret')) input: z.output<typeof fillSecretSlotInputSchema>,
  ) {
    return this.rpc.call(rpc.fillSlot, { caller, projectId, id, input });
  }

  @Delete('projects/:projectId/secret-slots/:id/secret')
  clearSlot(@Caller() caller: Principal, @Param('projectId', projectIdPipe) projectId: string, @Param('id', slotId) id: string) {
    return this.rpc.call(rpc.clearSlot, { caller, projectId, id });
  }
}
