import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { DomainError, unauthenticated } from './errors.js';
import { isNoAnswer } from './no-answer.js';

/** Claims of every access token the identity service signs. */
export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  /** Organization id: every token is scoped to exactly one tenant. */
  org: string;
  typ: 'user' | 'application';
  /** Session id, for user tokens. */
  sid?: string;
  /** Space-separated permissions, for application tokens. */
  scope?: string;
}

export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'user'; userId: string; organizationId: string; sessionId: string }
  | { kind: 'application'; clientId: string; organizationId: string; permissions: ReadonlySet<string> };

export const ACCESS_TOKEN_ALGORITHM = 'EdDSA';

export interface AccessTokenVerifier {
  verify(token: string): Promise<AccessTokenClaims>;
}

/**
 * Verifies access tokens against the identity service's JWKS. jose caches the
 * key set and refetches it (at most every 30 s) when a token names an unknown
 * `kid`, which is how a key rotation reaches every service.
 */
export function createAccessTokenVerifier(opts: { jwksUrl: string; issuer: string; audience: string }): AccessTokenVerifier {
  const jwks = createRemoteJWKSet(new URL(opts.jwksUrl), {
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 3_000,
  });
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, jwks, {
          issuer: opts.issuer,
          audience: opts.audience,
          algorithms: [ACCESS_TOKEN_ALGORITHM],
          requiredClaims: ['sub', 'org', 'typ', 'exp', 'iat'],
        });
        if (typeof payload.org !== 'string' || (payload.typ !== 'user' && payload.typ !== 'application')) {
          throw unauthenticated('Invalid access token');
        }
        if (payload.typ === 'user' && typeof payload.sid !== 'string') {
          throw unauthenticated('Invalid access token');
        }
        return payload as AccessTokenClaims;
      } catch (err) {
        if (err instanceof DomainError) throw err;
        if (err instanceof joseErrors.JWTExpired) throw unauthenticated('Access token expired');
        // fetch() reports an unreachable JWKS server as a TypeError (undici's code in its cause): that is no verdict on the token.
        if (err instanceof joseErrors.JWKSTimeout || isNoAnswer(err)) {
          throw new DomainError('SERVICE_UNAVAILABLE', 'Token keys unavailable, please retry', [], { reason: 'SERVICE_UNREACHABLE' });
        }
        if (err instanceof joseErrors.JOSEError || err instanceof TypeError) {
          throw unauthenticated('Invalid access token');
        }
        // The JWKS could not be fetched: the identity service is down.
        throw new DomainError('SERVICE_UNAVAILABLE', 'Token keys unavailable, please retry', [], { reason: 'SERVICE_UNREACHABLE' });
      }
    },
  };
}

export function callerFromClaims(claims: AccessTokenClaims): Caller {
  if (claims.typ === 'user') {
    return { kind: 'user', userId: claims.sub, organizationId: claims.org, sessionId: claims.sid ?? '' };
  }
  return {
    kind: 'application',
    clientId: claims.sub,
    organizationId: claims.org,
    permissions: new Set((claims.scope ?? '').split(' ').filter(Boolean)),
  };
}

/** Extracts the token of an `Authorization: Bearer <token>` header; malformed headers are rejected. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)$/i.exec(header.trim());
  if (!match?.[1]) throw unauthenticated('Malformed Authorization header: expected "Bearer <token>"');
  return match[1];
}

/** Resolves the caller of a request; an invalid token is a 401, never "anonymous". */
export async function authenticate(verifier: AccessTokenVerifier, authorizationHeader: string | undefined): Promise<Caller> {
  const token = bearerToken(authorizationHeader);
  if (token === undefined) return { kind: 'anonymous' };
  return callerFromClaims(await verifier.verify(token));
}

export function callerOrganizationId(caller: Caller): string | undefined {
  return caller.kind === 'anonymous' ? undefined : caller.organizationId;
}

export function requireAuthenticated(caller: Caller): Exclude<Caller, { kind: 'anonymous' }> {
  if (caller.kind === 'anonymous') throw unauthenticated();
  return caller;
}
