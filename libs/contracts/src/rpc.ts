import { z } from 'zod';
import type { ErrorPayload } from './errors.js';

/**
 * A request-reply contract: the subject (`<service>.rpc.<verb>`), what goes in, what comes out.
 * Both sides validate against the same schemas.
 */
export interface RpcContract<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly subject: string;
  readonly request: Req;
  readonly response: Res;
}

export function defineRpc<Req extends z.ZodType, Res extends z.ZodType>(
  subject: string,
  request: Req,
  response: Res,
): RpcContract<Req, Res> {
  return { subject, request, response };
}

export type RpcRequest<C extends RpcContract> = z.input<C['request']>;
export type RpcResponse<C extends RpcContract> = z.output<C['response']>;

/** The wire shape of every reply. */
export type RpcReply<T = unknown> = { ok: true; data: T } | { ok: false; error: ErrorPayload };

/** What a handler receives: the request after parsing (defaults applied). */
export type RpcInput<C extends RpcContract> = z.output<C['request']>;
