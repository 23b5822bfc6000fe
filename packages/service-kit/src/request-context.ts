import { GraphQLError } from 'graphql';
import { authenticate, type AccessTokenVerifier, type Caller } from './auth.js';
import { DomainError, toGraphQLError } from './errors.js';
import type { RequestInfo } from './http-server.js';
import type { CallerLivenessCheck } from './caller-liveness.js';
import { createServiceTokenVerifier } from './service-token.js';
import { rateLimitKeyForIp } from './client-ip.js';

/** What every subgraph resolver knows about the request. */
export interface RequestContext {
  caller: Caller;
  requestId: string;
  /**
   * The end client as every per-IP limit counts it (rateLimitKeyForIp: an
   * IPv4 address, or an IPv6 /64): from the gateway's signed assertion (the
   * gateway reads X-Forwarded-For only from TRUSTED_PROXIES), else the socket.
   */
  clientIp: string;
  headers: {
    organizationSlug?: string;
    idempotencyKey?: string;
  };
}

/** The gateway signs the client IP it saw, so a direct caller cannot forge it. */
export const GATEWAY_ASSERTION_HEADER = 'x-usergraph-gateway';

function header(info: RequestInfo, name: string): string | undefined {
  const v = info.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Reads the client IP of a request to this service, as `RequestContext.clientIp`
 * holds it: for routes outside GraphQL (POST /oauth/token, which the gateway
 * forwards with the same signed assertion).
 */
export function createClientIpResolver(opts: { service: string; internalSecret: string }): (info: RequestInfo) => Promise<string> {
  // Only a token signed with the gateway's own key (derived from the root secret) is an assertion.
  // The gateway reuses one assertion per client IP for most of its lifetime.
  const verifyAssertion = createServiceTokenVerifier(opts.internalSecret, opts.service, 'gateway-assertion');
  return async (info) => {
    const assertion = header(info, GATEWAY_ASSERTION_HEADER);
    const claims = assertion ? await verifyAssertion(assertion) : undefined;
    return rateLimitKeyForIp(
      claims?.from === 'gateway' && typeof claims.ip === 'string' ? claims.ip : (info.req.socket.remoteAddress ?? ''),
    );
  };
}

export function createRequestContextFactory(opts: {
  service: string;
  verifier: AccessTokenVerifier;
  internalSecret: string;
  /** Refuses a valid token whose session was revoked or whose application is gone or inactive. */
  callerIsLive?: CallerLivenessCheck;
}): (info: RequestInfo) => Promise<RequestContext> {
  const clientIpOf = createClientIpResolver(opts);
  return async (info) => {
    let caller: Caller;
    try {
      caller = await authenticate(opts.verifier, header(info, 'authorization'));
    } catch (err) {
      // Thrown from the context function, Apollo answers with this error and its HTTP status.
      if (err instanceof DomainError) throw toGraphQLError(err, err.code === 'UNAUTHENTICATED' ? 401 : 503);
      throw new GraphQLError('Invalid access token', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
    }
    if (caller.kind !== 'anonymous' && opts.callerIsLive) {
      const verdict = await opts.callerIsLive(caller).catch((err: unknown) => {
        // Fail closed: without a verdict the token is not honoured.
        throw toGraphQLError(
          err instanceof DomainError ? err : new DomainError('SERVICE_UNAVAILABLE', 'Cannot check the session, please retry'),
          503,
        );
      });
      if (!verdict.live) {
        const message = caller.kind === 'user' ? 'Session revoked: sign in again' : 'The application is not active';
        throw new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
      }
      // The token's scope, less whatever an admin has since taken from the application.
      const current = verdict.permissions;
      if (caller.kind === 'application' && current) {
        caller = { ...caller, permissions: new Set([...caller.permissions].filter((p) => current.includes(p))) };
      }
    }
    return {
      caller,
      requestId: info.requestId,
      clientIp: await clientIpOf(info),
      headers: {
        organizationSlug: header(info, 'x-organization-slug'),
        idempotencyKey: header(info, 'idempotency-key'),
      },
    };
  };
}
