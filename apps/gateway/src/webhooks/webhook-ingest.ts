import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import express from 'express';
import type { RpcClient } from '@launchpad/messaging';
import { requestIdFor } from '@launchpad/telemetry';
import { traced } from '../http/request-pipeline.js';
import { sendProblem } from '../problems/problem.filter.js';
import { type DeliveryHeaders, forwardGitLabWebhook, webhookBody } from './webhooks.controller.js';

/** WebhooksController's `POST gitlab` under the API's prefix. */
export const WEBHOOK_PATH = '/api/v1/webhooks/gitlab';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** A JSON body as GitLab sends it; any other Content-Type goes the API's way (which refuses it with 415). */
const JSON_TYPE = /^application\/json\s*(;|$)/i;

/**
 * `POST /api/v1/webhooks/gitlab` with a JSON body, handled on the raw node:http request: GitLab's
 * deliveries come by the hundred a second, and Express and Nest (request decoration, router,
 * middleware, guard, pipes, param decorators, each with its promises) cost the gateway more than
 * reading the body and handing it on does. The work is the route's own, with the same parts:
 * the same body parser and limit, the same body pipe (webhookBody), forwardGitLabWebhook, and
 * sendProblem for every refusal (problem+json, as ProblemDetailsFilter and the body parser's
 * error middleware send them). What a request gets from the API's chain before its route is
 * done here the same way: its id (echoed), its span, its access line.
 *
 * Anything else goes to `api` untouched: another method or path, a query string, another
 * Content-Type (refused there with 415), so that its route gives its answer as ever.
 */
export function webhookIngest(rpc: RpcClient, accessLog: Middleware, bodyLimitBytes: number, api: Handler): Handler {
  const parseJson = express.json({ limit: bodyLimitBytes, type: ['application/json', 'application/*+json'], strict: true }) as unknown as (
    req: IncomingMessage,
    res: ServerResponse,
    next: (error?: unknown) => void,
  ) => void;
  const logger = new Logger('Problems');
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== WEBHOOK_PATH || !JSON_TYPE.test(req.headers['content-type'] ?? '')) return api(req, res);
    traced(req, res, () => {
      (req as { id?: string }).id = requestIdFor(req, res);
      accessLog(req, res, () => {
        const refuse = (error: unknown) => {
          if (!res.headersSent) sendProblem(error, req, res, logger);
        };
        parseJson(req, res, (error) => {
          if (error) return refuse(error);
          let body: Record<string, unknown>;
          try {
            body = webhookBody.transform((req as { body?: unknown }).body);
          } catch (invalid) {
            return refuse(invalid);
          }
          forwardGitLabWebhook(rpc, req.headers as DeliveryHeaders, body).then((outcome) => {
            const bytes = Buffer.from(JSON.stringify(outcome));
            res.statusCode = 200;
            res.setHeader('Content-Type', 'application/json; charset=utf-8');
            res.setHeader('Content-Length', bytes.length);
            res.end(bytes);
          }, refuse);
        });
      });
    });
  };
}
