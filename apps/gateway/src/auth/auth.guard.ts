import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Principal } from '@launchpad/contracts';
import { PUBLIC_ROUTE } from '@launchpad/telemetry';
import type { Request } from 'express';
import { TokenVerifier } from './token-verifier.js';

type AuthenticatedRequest = Request & { principal?: Principal; tokenExpiresAt?: number };

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const { principal, expiresAt } = await this.verifier.authenticate(req.headers.authorization);
    req.principal = principal;
    req.tokenExpiresAt = expiresAt;
    return true;
  }
}

/** The authenticated caller, set by AuthGuard. */
export const Caller = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('Caller used on a public route');
  return principal;
});

/** When the caller's token expires (ms since the epoch), set by AuthGuard: what a server-sent event stream ends at. */
export const TokenExpiry = createParamDecorator((_: unknown, context: ExecutionContext): number => {
  const expiresAt = context.switchToHttp().getRequest<AuthenticatedRequest>().tokenExpiresAt;
  if (expiresAt === undefined) throw new Error('TokenExpiry used on a public route');
  return expiresAt;
});
