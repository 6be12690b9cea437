import { Inject, Injectable } from '@nestjs/common';
import { CommonErrorCode, DomainError, type Principal } from '@launchpad/contracts';
import { createRemoteJWKSet, errors as joseErrors, type JWTPayload, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { GatewayConfig } from '../config.js';

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

function unauthenticated(message: string): DomainError {
  return new DomainError(CommonErrorCode.UNAUTHENTICATED, message);
}

/** Roles as Keycloak puts them in a token (realm roles), or a plain `roles` claim. */
export function rolesOf(payload: JWTPayload): string[] {
  const realm = (payload.realm_access as { roles?: unknown } | undefined)?.roles;
  const plain = payload.roles;
  return [...(Array.isArray(realm) ? realm : []), ...(Array.isArray(plain) ? plain : [])].filter((r): r is string => typeof r === 'string');
}

/**
 * Verifies bearer tokens: against the OIDC provider's JWKS in production (keys cached and
 * refreshed by jose), or against the local development key.
 */
@Injectable()
export class TokenVerifier {
  private readonly key: JWTVerifyGetKey | Uint8Array;
  private readonly algorithms: string[];

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {
    if (config.auth.jwksUrl) {
      this.key = createRemoteJWKSet(new URL(config.auth.jwksUrl));
      this.algorithms = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'PS256', 'EdDSA'];
    } else {
      this.key = new TextEncoder().encode(config.auth.devSigningKey);
      this.algorithms = ['HS256'];
    }
  }

  async verify(authorization: string | undefined): Promise<Principal> {
    if (!authorization) {
      throw unauthenticated('missing bearer token: send "Authorization: Bearer <token>" (in development, `npm run token -- --user alice` prints one)');
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match?.[1]) throw unauthenticated('the Authorization header must be "Bearer <token>"');
    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(match[1], this.key as JWTVerifyGetKey, {
        algorithms: this.algorithms,
        ...(this.config.auth.issuer ? { issuer: this.config.auth.issuer } : {}),
        ...(this.config.auth.audience ? { audience: this.config.auth.audience } : {}),
      });
      payload = verified.payload;
    } catch (error) {
      throw unauthenticated(describeJoseError(error));
    }
    const userId = payload[this.config.auth.userClaim];
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 255) {
      throw unauthenticated(`the token has no "${this.config.auth.userClaim}" claim naming the user`);
    }
    return { userId, admin: rolesOf(payload).includes(this.config.auth.adminRole) };
  }
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) {
    const exp = typeof error.payload.exp === 'number' ? ` at ${new Date(error.payload.exp * 1000).toISOString()}` : '';
    return `the token expired${exp}; sign in again for a new one`;
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the token's "${error.claim}" claim is not accepted here: ${error.reason}`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is not valid for this platform';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm this platform does not accept';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'the token was signed with a key the identity provider does not publish';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'the bearer token is not a well-formed JWT';
  if (error instanceof joseErrors.JWKSTimeout) return 'the identity provider did not answer in time; try again';
  return `the token could not be verified: ${(error as Error).message}`;
}
