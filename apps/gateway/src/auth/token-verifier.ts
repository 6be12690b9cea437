import { webcrypto } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CommonErrorCode, DomainError, type Principal } from '@launchpad/contracts';
import { createRemoteJWKSet, errors as joseErrors, type JWTPayload, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { GatewayConfig } from '../config.js';
import { VerifiedTokens } from './verified-tokens.js';

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
  private readonly key: JWTVerifyGetKey | Promise<webcrypto.CryptoKey>;
  private readonly algorithms: string[];
  private readonly verified = new VerifiedTokens();

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {
    if (config.auth.jwksUrl) {
      this.key = createRemoteJWKSet(new URL(config.auth.jwksUrl));
      this.algorithms = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'PS256', 'EdDSA'];
    } else {
      // A CryptoKey, imported once: given bytes (or a secret KeyObject, which it exports to bytes),
      // jose imports one on every verify, about 8 % of the gateway's CPU per API call.
      this.key = webcrypto.subtle.importKey('raw', new TextEncoder().encode(config.auth.devSigningKey), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      this.algorithms = ['HS256'];
    }
  }

  async verify(authorization: string | undefined): Promise<Principal> {
    return (await this.authenticate(authorization)).principal;
  }

  /**
   * Whom the header's token names if it was verified lately and is still valid (what authenticate
   * would answer without verifying anything); undefined for any other header, which only
   * authenticate can answer (verified, or refused with its reason).
   */
  known(authorization: string | undefined): Principal | undefined {
    const token = authorization === undefined ? undefined : bearerToken(authorization);
    return token === undefined ? undefined : this.verified.get(token);
  }

  /** Whom the token names, and when it expires (ms since the epoch): a stream it opens ends then. */
  async authenticate(authorization: string | undefined): Promise<{ principal: Principal; expiresAt: number }> {
    if (!authorization) {
      throw unauthenticated('missing bearer token: send "Authorization: Bearer <token>" (in development, `npm run token -- --user alice` prints one)');
    }
    const token = bearerToken(authorization);
    if (!token) throw unauthenticated('the Authorization header must be "Bearer <token>"');
    const known = this.verified.entry(token);
    // `exp` is required: every token verified has one.
    if (known) return { principal: known.principal, expiresAt: known.expiresAt ?? Date.now() };
    let payload: JWTPayload;
    try {
      const key = typeof this.key === 'function' ? this.key : await this.key;
      const verified = await jwtVerify(token, key, {
        algorithms: this.algorithms,
        ...(this.config.auth.issuer ? { issuer: this.config.auth.issuer } : {}),
        ...(this.config.auth.audience ? { audience: this.config.auth.audience } : {}),
        // A token that never expires, or names no subject, is not one we take (whatever claim names the user).
        requiredClaims: ['exp', 'sub'],
      });
      payload = verified.payload;
    } catch (error) {
      throw unauthenticated(describeJoseError(error));
    }
    const userId = payload[this.config.auth.userClaim];
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 255) {
      throw unauthenticated(`the token has no "${this.config.auth.userClaim}" claim naming the user`);
    }
    const principal = Object.freeze({ userId, admin: rolesOf(payload).includes(this.config.auth.adminRole) });
    const expiresAt = (payload.exp as number) * 1000;
    this.verified.set(token, principal, expiresAt);
    return { principal, expiresAt };
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined for any other form. */
function bearerToken(authorization: string): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) {
    const exp = typeof error.payload.exp === 'number' ? ` at ${new Date(error.payload.exp * 1000).toISOString()}` : '';
    return `the token expired${exp}; sign in again for a new one`;
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed && error.reason === 'missing') {
    return `the token has no "${error.claim}" claim: tokens must name their subject ("sub") and expire ("exp")`;
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the token's "${error.claim}" claim is not accepted here: ${error.reason}`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is not valid for this platform';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm this platform does not accept';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'the token was signed with a key the identity provider does not publish';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'the bearer token is not a well-formed JWT';
  if (error instanceof joseErrors.JWKSTimeout) return 'the identity provider did not answer in time; try again';
  return `the token could not be verified: ${(error as Error).message}`;
}
