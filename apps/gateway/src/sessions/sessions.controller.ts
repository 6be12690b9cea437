import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import {
  launchSessionInputSchema,
  type Principal,
  type Session,
  sessionsRpc as rpc,
  updateSessionInputSchema,
  uuidSchema,
} from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Caller, TokenExpiry } from '../auth/auth.guard.js';
import { GATEWAY_CONFIG } from '../auth/token-verifier.js';
import type { GatewayConfig } from '../config.js';
import { openApiSchema, ZodPipe } from '../http/zod.pipe.js';
import { Origins } from '../origins/origins.js';
import { SessionProgressStream } from './session-progress.stream.js';

const sessionId = new ZodPipe(uuidSchema, 'session id');
const logsQuery = new ZodPipe(
  z.strictObject({ lines: z.coerce.number().int().min(1, { message: 'lines must be at least 1' }).max(5000, { message: 'lines can be at most 5000' }).default(200) }),
  'logs query',
);

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('sessions')
export class SessionsController {
  constructor(
    private readonly rpc: RpcClient,
    private readonly progress: SessionProgressStream,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.origins = new Origins(config);
  }

  private readonly origins: Origins;

  /** 201 with a new session; 200 with the caller's existing one for this launcher. */
  @Post()
  @ApiBody({ schema: openApiSchema(launchSessionInputSchema) })
  async launch(
    @Caller() caller: Principal,
    @Body(new ZodPipe(launchSessionInputSchema, 'session')) input: z.output<typeof launchSessionInputSchema>,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { created, session } = await this.rpc.call(rpc.launch, { caller, input }, 15_000);
    res.status(created ? 201 : 200);
    res.setHeader('Location', `/api/v1/sessions/${session.id}`);
    return this.withUrl(session);
  }

  @Get()
  async list(@Caller() caller: Principal) {
    const { items } = await this.rpc.call(rpc.list, { caller });
    return { items: items.map((s) => this.withUrl(s)) };
  }

  @Get(':id')
  async get(@Caller() caller: Principal, @Param('id', sessionId) id: string) {
    return this.withUrl(await this.rpc.call(rpc.get, { caller, id }));
  }

  /** `{"state": "hibernated"}` hibernates (files kept); `{"state": "running"}` resumes or retries. */
  @Patch(':id')
  @ApiBody({ schema: openApiSchema(updateSessionInputSchema) })
  async update(
    @Caller() caller: Principal,
    @Param('id', sessionId) id: string,
    @Body(new ZodPipe(updateSessionInputSchema, 'session update')) input: z.output<typeof updateSessionInputSchema>,
  ) {
    return this.withUrl(await this.rpc.call(rpc.update, { caller, id, input }));
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Caller() caller: Principal, @Param('id', sessionId) id: string): Promise<void> {
    await this.rpc.call(rpc.delete, { caller, id });
  }

  @Get(':id/logs')
  logs(@Caller() caller: Principal, @Param('id', sessionId) id: string, @Query(logsQuery) query: { lines: number }) {
    return this.rpc.call(rpc.logs, { caller, id, lines: query.lines });
  }

  /** Server-sent events: every launch step as it happens. Reconnecting with Last-Event-ID resumes after it. */
  @Get(':id/events')
  async events(@Caller() caller: Principal, @TokenExpiry() expiresAt: number, @Param('id', sessionId) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const lastEventId = Number(req.headers['last-event-id'] ?? 0);
    await this.progress.stream(caller, id, Number.isInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0, res, expiresAt);
  }

  /** Where its owner opens it: the session's own origin. */
  private withUrl(session: Session): Session & { url: string } {
    return { ...session, url: `${this.origins.session(session.id)}${session.path}` };
  }
}
