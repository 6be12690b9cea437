import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { buildsRpc } from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import { Public } from '@launchpad/telemetry';
import { z } from 'zod';
import { openApiSchema, ZodPipe } from '../http/zod.pipe.js';
import { forwardedWebhookBody } from './webhook-body.js';

export const webhookBody = new ZodPipe(z.record(z.string(), z.unknown(), { error: 'the webhook body must be a JSON object, as GitLab sends' }), 'webhook body');
const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** The headers of a delivery that the builds service reads, as node:http gives them (lower case). */
export interface DeliveryHeaders {
  'x-gitlab-token'?: string | string[] | undefined;
  'x-gitlab-event'?: string | string[] | undefined;
  'x-gitlab-event-uuid'?: string | string[] | undefined;
  'idempotency-key'?: string | string[] | undefined;
}

/** Hands a delivery (its body validated by webhookBody) on to the builds service: the route's whole work, and the front door's (webhook-ingest.ts). */
export function forwardGitLabWebhook(rpc: RpcClient, raw: DeliveryHeaders, body: Record<string, unknown>) {
  const headers = {
    token: header(raw['x-gitlab-token']),
    event: header(raw['x-gitlab-event']),
    eventUuid: header(raw['x-gitlab-event-uuid']),
    idempotencyKey: header(raw['idempotency-key']),
  };
  return rpc.call(buildsRpc.receiveGitLabWebhook, {
    headers: Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)),
    body: forwardedWebhookBody(body),
  });
}

/**
 * GitLab webhooks (project hooks, and the instance's system hook) land here. No bearer token: the
 * builds service verifies the delivery's X-Gitlab-Token against the project's webhook secret (or
 * the system hook secret) and answers 401 when it does not match, changing nothing.
 */
@ApiTags('webhooks')
@Public()
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly rpc: RpcClient) {}

  @Post('gitlab')
  @HttpCode(200)
  @ApiHeader({ name: 'X-Gitlab-Token', required: true, description: "the project's webhook secret, or the system hook secret" })
  @ApiHeader({ name: 'X-Gitlab-Event', required: true, description: 'e.g. "Pipeline Hook", "Job Hook", "Push Hook", "System Hook"' })
  @ApiHeader({ name: 'X-Gitlab-Event-UUID', required: false, description: 'identifies a delivery when it has no Idempotency-Key' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'GitLab 17.4+: the same across retries and resends of a delivery; each delivery is applied once' })
  @ApiBody({ schema: { type: 'object', description: 'the payload as GitLab sends it' } })
  @ApiOkResponse({ schema: openApiSchema(buildsRpc.receiveGitLabWebhook.response, 'output') })
  gitlab(
    @Headers('x-gitlab-token') token: string | string[] | undefined,
    @Headers('x-gitlab-event') event: string | string[] | undefined,
    @Headers('x-gitlab-event-uuid') eventUuid: string | string[] | undefined,
    @Headers('idempotency-key') idempotencyKey: string | string[] | undefined,
    @Body(webhookBody) body: Record<string, unknown>,
  ) {
    return forwardGitLabWebhook(this.rpc, { 'x-gitlab-token': token, 'x-gitlab-event': event, 'x-gitlab-event-uuid': eventUuid, 'idempotency-key': idempotencyKey }, body);
  }
}
