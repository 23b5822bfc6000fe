import { GraphQLError } from 'graphql';
import {
  bearerToken,
  callerFromClaims,
  clientAddressOf,
  rateLimitKeyForIp,
  toGraphQLError,
  DomainError,
  type AccessTokenVerifier,
  type CallerLivenessCheck,
  type ProxyTrust,
  type RequestInfo,
} from '@usergraph/service-kit';

export interface GatewayContext {
  requestId: string;
  /** The client, as every per-IP limit counts it: see rateLimitKeyForIp. */
  clientIp: string;
  headers: Partial<Record<'authorization' | 'x-organization-slug' | 'idempotency-key', string>>;
}

function header(info: RequestInfo, name: string): string | undefined {
  const v = info.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Verifies the caller's token before any query is planned: a bad token, or a
 * user token whose session was revoked, gets 401 here and never reaches a
 * subgraph (which checks both again anyway). An application's status is left
 * to the subgraphs: C's registerUser answers a deactivated application with
 * AUTH-0030 in its payload, not with a 401.
 */
export function createGatewayContextFactory(verifier: AccessTokenVerifier, sessionIsLive: CallerLivenessCheck, trustedProxies: ProxyTrust) {
  return async (info: RequestInfo): Promise<GatewayContext> => {
    const authorization = header(info, 'authorization');
    try {
      // Only the verdict matters here: the subgraphs work out the caller themselves.
      const token = bearerToken(authorization);
      const caller = token === undefined ? undefined : callerFromClaims(await verifier.verify(token));
      if (caller?.kind === 'user' && !(await sessionIsLive(caller)).live) {
        throw new GraphQLError('Session revoked: sign in again', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
      }
    } catch (err) {
      if (err instanceof DomainError) throw toGraphQLError(err, err.code === 'UNAUTHENTICATED' ? 401 : 503);
      throw err;
    }
    return {
      requestId: info.requestId,
      clientIp: rateLimitKeyForIp(clientAddressOf(info.req, trustedProxies)),
      headers: {
        authorization,
        'x-organization-slug': header(info, 'x-organization-slug'),
        'idempotency-key': header(info, 'idempotency-key'),
      },
    };
  };
}
