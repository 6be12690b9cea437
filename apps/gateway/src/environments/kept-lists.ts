import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestIdFor } from '@launchpad/telemetry';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { traced } from '../http/request-pipeline.js';
import type { EnvironmentList, ListBody } from './environment-list.js';

/** The catalogue's list as the API serves it (global prefix `api/v1`, EnvironmentsController's `GET /`). */
export const LIST_PATH = '/api/v1/environments';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/**
 * `GET /api/v1/environments` answered on the raw node:http request when all it takes is two copies
 * in memory: the caller's token verified lately (TokenVerifier.known) and the list kept
 * (EnvironmentList.kept). Express and Nest (request decoration, router, middleware, guard, pipe,
 * param decorators, each with its promises) cost five times what answering does: on the
 * catalogue's hottest read they were most of the gateway's CPU once the list was kept.
 *
 * Anything else goes to `api` (Express and Nest) untouched, and its route gives the same answer
 * and every refusal: another method, path or a query string, a conditional request (Express
 * answers 304), a request with a body, a token not known (missing, malformed, expired or not
 * verified lately: authenticate verifies or refuses it), a list not kept (asked for there, and
 * then kept). What a request gets from the API's own chain before its route is done here the same
 * way: its id (echoed), its span, its access line; the answer's headers are the route's.
 */
export function keptLists(verifier: TokenVerifier, lists: EnvironmentList, accessLog: Middleware, api: Handler): Handler {
  return (req, res) => {
    const body = plainList(req) && verifier.known(req.headers.authorization) !== undefined ? lists.kept({}) : undefined;
    if (!body) return api(req, res);
    traced(req, res, () => {
      (req as { id?: string }).id = requestIdFor(req, res);
      accessLog(req, res, () => send(res, body));
    });
  };
}

/** A plain read of the whole list: nothing in it that Express or the route would act on. */
function plainList(req: IncomingMessage): boolean {
  const { headers } = req;
  return (
    req.method === 'GET' &&
    req.url === LIST_PATH &&
    headers['if-none-match'] === undefined &&
    headers['if-modified-since'] === undefined &&
    headers['transfer-encoding'] === undefined &&
    (headers['content-length'] === undefined || headers['content-length'] === '0')
  );
}

function send(res: ServerResponse, body: ListBody): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', body.bytes.length);
  res.setHeader('ETag', body.etag);
  res.end(body.bytes);
}
