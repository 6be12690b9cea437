import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { activateAppInputSchema, type App, appsRpc as rpc, type Principal, uuidSchema } from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import type { Response } from 'express';
import { z } from 'zod';
import { Caller, TokenExpiry } from '../auth/auth.guard.js';
import { GATEWAY_CONFIG } from '../auth/token-verifier.js';
import type { GatewayConfig } from '../config.js';
import { openApiSchema, ZodPipe } from '../http/zod.pipe.js';
import { Origins } from '../origins/origins.js';
import { AppLogStream, prefixed } from './app-logs.stream.js';

const launcherId = new ZodPipe(uuidSchema, 'launcher id');
const activateBody = new ZodPipe(activateAppInputSchema.optional(), 'app settings');
const logsQuery = new ZodPipe(
  z.strictObject({
    lines: z.coerce.number().int().min(1, { message: 'lines must be at least 1' }).max(5000, { message: 'lines can be at most 5000' }).default(200),
    follow: z.enum(['true', 'false'], { message: 'follow must be true or false' }).default('false').transform((v) => v === 'true'),
  }),
  'logs query',
);

/** Apps are addressed by their launcher's id: an app launcher has exactly one app, on or off. */
@ApiTags('apps')
@ApiBearerAuth()
@Controller('apps')
export class AppsController {
  constructor(
    private readonly rpc: RpcClient,
    private readonly logs: AppLogStream,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.origins = new Origins(config);
  }

  private readonly origins: Origins;

  /** Turns the app on (developer or above): reachable at its share link, 0..N replicas by load. Again: new settings. */
  @Post(':launcherId/activate')
  @HttpCode(200)
  @ApiBody({ schema: openApiSchema(activateAppInputSchema), required: false })
  async activate(@Caller() caller: Principal, @Param('launcherId', launcherId) id: string, @Body(activateBody) input: z.output<typeof activateAppInputSchema> | undefined) {
    return this.withUrl(await this.rpc.call(rpc.activate, { caller, launcherId: id, input: input ?? {} }, 15_000));
  }

  /** Turns the app off (developer or above): every replica stops, the share link says the app is off. */
  @Post(':launcherId/deactivate')
  @HttpCode(200)
  async deactivate(@Caller() caller: Principal, @Param('launcherId', launcherId) id: string) {
    return this.withUrl(await this.rpc.call(rpc.deactivate, { caller, launcherId: id }, 15_000));
  }

  @Get(':launcherId')
  async get(@Caller() caller: Principal, @Param('launcherId', launcherId) id: string) {
    return this.withUrl(await this.rpc.call(rpc.get, { caller, launcherId: id }));
  }

  /** Recent lines of every replica, each as `[r1] ...`; `?follow=true` streams them as server-sent events. */
  @Get(':launcherId/logs')
  async logsOf(
    @Caller() caller: Principal,
    @TokenExpiry() expiresAt: number,
    @Param('launcherId', launcherId) id: string,
    @Query(logsQuery) query: { lines: number; follow: boolean },
    @Res() res: Response,
  ): Promise<void> {
    if (query.follow) return this.logs.stream(caller, id, query.lines, res, expiresAt);
    const { lines } = await this.rpc.call(rpc.logs, { caller, launcherId: id, lines: query.lines, cursor: null });
    res.json({ lines: lines.map(prefixed) });
  }

  /** The share link: the app's own origin. */
  private withUrl(app: App): App & { url: string | null } {
    return { ...app, url: app.slug ? `${this.origins.app(app.slug)}${app.path ?? '/'}` : null };
  }
}
