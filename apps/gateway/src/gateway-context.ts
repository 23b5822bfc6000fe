import { bearerToken, toGraphQLError, DomainError, type AccessTokenVerifier, type RequestInfo } from '@usergraph/service-kit';

export interface GatewayContext {
  requestId: string;
  clientIp: string;
  headers: Partial<Record<'authorization' | 'x-organization-slug' | 'idempotency-key', string>>;
}

function header(info: RequestInfo, name: string): string | undefined {
  const v = info.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Verifies the caller's token before any query is planned: a bad token gets
 * 401 here and never reaches a subgraph (which verifies it again anyway).
 */
export function createGatewayContextFactory(verifier: AccessTokenVerifier) {
  return async (info: RequestInfo): Promise<GatewayContext> => {
    const authorization = header(info, 'authorization');
    try {
      // Only the verdict matters here: the subgraphs work out the caller themselves.
      const token = bearerToken(authorization);
      if (token !== undefined) await verifier.verify(token);
    } catch (err) {
      if (err instanceof DomainError) throw toGraphQLError(err, err.code === 'UNAUTHENTICATED' ? 401 : 503);
      throw err;
    }
    return {
      requestId: info.requestId,
      clientIp: info.req.socket.remoteAddress ?? 'unknown',
      headers: {
        authorization,
        'x-organization-slug': header(info, 'x-organization-slug'),
        'idempotency-key': header(info, 'idempotency-key'),
      },
    };
  };
}
