import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { Agent, fetch as undiciFetch } from 'undici';
import { GATEWAY_ASSERTION_HEADER, signServiceToken } from '@usergraph/service-kit';
import type { GatewayContext } from './gateway-context.js';

/**
 * One keep-alive connection pool for all subgraph calls. Its idle timeout
 * (30 s) is below the subgraphs' keepAliveTimeout (65 s), so the gateway
 * never reuses a socket the subgraph is about to close.
 */
const keepAliveAgent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 128, pipelining: 1 });

const keepAliveFetch = ((url: string, init?: Record<string, unknown>) =>
  undiciFetch(url, { ...(init ?? {}), dispatcher: keepAliveAgent } as never)) as unknown as RemoteGraphQLDataSource['fetcher'];

/** Headers a client sends that subgraphs need; nothing else crosses the hop. */
const FORWARDED_HEADERS = ['authorization', 'x-organization-slug', 'idempotency-key'] as const;

export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly subgraphName: string,
    url: string,
    private readonly internalSecret: string,
  ) {
    super({ url, fetcher: keepAliveFetch });
  }

  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    const headers = request.http?.headers;
    if (!headers || !context.headers) return;
    for (const name of FORWARDED_HEADERS) {
      const value = context.headers[name];
      if (value) headers.set(name, value);
    }
    headers.set('x-request-id', context.requestId);
    // The client IP, signed so that a direct caller of a subgraph cannot forge it.
    headers.set(GATEWAY_ASSERTION_HEADER, await signServiceToken(this.internalSecret, 'gateway', this.subgraphName, { ip: context.clientIp }));
  }
}

export const closeSubgraphAgent = () => keepAliveAgent.close();
