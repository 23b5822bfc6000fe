import { STATUS_CODES } from 'node:http';
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { Agent } from 'undici';
import { createServiceTokenCache, GATEWAY_ASSERTION_HEADER, injectTraceContext, isErrorReason } from '@usergraph/service-kit';
import type { GatewayContext } from './gateway-context.js';

type SubgraphResponse = Awaited<ReturnType<GraphQLDataSource<GatewayContext>['process']>>;

/**
 * One keep-alive connection pool for all subgraph calls. Its idle timeout
 * (30 s) is below the subgraphs' keepAliveTimeout (65 s), so the gateway
 * never reuses a socket the subgraph is about to close.
 */
const keepAliveAgent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 128, pipelining: 1 });

/** Headers a client sends that any subgraph may see; nothing else crosses the hop (no cookie, no other header). */
const FORWARDED_HEADERS = ['x-organization-slug', 'idempotency-key'] as const;
/**
 * Credentials: the client's token is a bearer token for the whole gateway
 * (not bound to one subgraph), so only first-party subgraphs
 * (GATEWAY_TRUSTED_SUBGRAPHS) get it, with the gateway's signed client IP.
 * Any other team's subgraph could replay them: it gets neither.
 */
const FIRST_PARTY_HEADERS = ['authorization'] as const;

/**
 * Sends the gateway's subgraph operations with undici's request(), not with
 * RemoteGraphQLDataSource: its fetch layer (node-fetch Request and Headers,
 * WHATWG streams) cost more CPU than everything else in a subgraph call.
 * Same behaviour: POST of { query, variables, operationName }, a non-2xx
 * answer is an error carrying the response, as RemoteGraphQLDataSource does.
 * Subgraph Cache-Control headers are not merged: subgraphs send no-store, and
 * so does the gateway.
 */
export class SubgraphDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly origin: string;
  private readonly path: string;
  /** One signed client-IP assertion per IP, reused for most of its 60 s lifetime. */
  private readonly assertionFor: ReturnType<typeof createServiceTokenCache>;

  constructor(
    private readonly subgraphName: string,
    url: string,
    /** GATEWAY_SERVICE_KEY: the gateway's own key, which first-party subgraphs derive to verify the assertion. */
    gatewayKey: string,
    /** A first-party subgraph (GATEWAY_TRUSTED_SUBGRAPHS): sent the client's credentials. */
    private readonly firstParty: boolean,
  ) {
    const parsed = new URL(url);
    this.origin = parsed.origin;
    this.path = `${parsed.pathname}${parsed.search}`;
    this.assertionFor = createServiceTokenCache(gatewayKey, 'gateway', 'gateway-assertion');
  }

  async process({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<SubgraphResponse> {
    if (!request.query) throw new Error('Missing query');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    // Apollo types the context of its own requests (health checks, schema loading) as
    // Record<string, any>; only a client's request carries the gateway's context.
    const client = (context as Partial<GatewayContext>).headers ? (context as GatewayContext) : undefined;
    if (client) {
      for (const name of this.firstParty ? [...FORWARDED_HEADERS, ...FIRST_PARTY_HEADERS] : FORWARDED_HEADERS) {
        const value = client.headers[name];
        if (value) headers[name] = value;
      }
      headers['x-request-id'] = client.requestId;
      // The client IP, signed so that a direct caller of a subgraph cannot forge it (with the gateway's
      // key, which first-party subgraphs derive from INTERNAL_SERVICE_SECRET to verify it).
      if (this.firstParty) headers[GATEWAY_ASSERTION_HEADER] = await this.assertionFor(this.subgraphName, { ip: client.clientIp });
    }
    // The subgraph's server span joins the trace under Apollo's gateway.fetch span (no undici span here: telemetry.ts).
    injectTraceContext(headers);
    const res = await keepAliveAgent.request({
      origin: this.origin,
      path: this.path,
      method: 'POST',
      headers,
      body: JSON.stringify({
        query: request.query,
        variables: request.variables,
        operationName: request.operationName,
        extensions: request.extensions,
      }),
    });
    const text = await res.body.text();
    const contentType = res.headers['content-type'];
    const isJson =
      typeof contentType === 'string' &&
      (contentType.startsWith('application/json') || contentType.startsWith('application/graphql-response+json'));
    const body: unknown = isJson ? JSON.parse(text) : text;
    if (res.statusCode < 200 || res.statusCode > 299) throw this.errorFromResponse(res.statusCode, body);
    if (typeof body !== 'object' || body === null) throw new Error(`Expected JSON response body, but received: ${text}`);
    return body;
  }

  /**
   * A non-2xx answer becomes one error the client may see: the subgraph's own
   * first error when it sent one with a code (e.g. 401 "Session revoked"), else
   * "<status>: <text>". Unlike RemoteGraphQLDataSource, the subgraph's URL and
   * raw body stay here: they would tell a client the internal addresses.
   */
  private errorFromResponse(status: number, body: unknown): GraphQLError {
    const first = (body as { errors?: Array<{ message?: unknown; extensions?: { code?: unknown; reason?: unknown } }> } | undefined)
      ?.errors?.[0];
    const fallbackCode = status === 401 ? 'UNAUTHENTICATED' : status === 403 ? 'FORBIDDEN' : undefined;
    if (typeof first?.message === 'string' && typeof first.extensions?.code === 'string') {
      const reason = first.extensions.reason;
      return new GraphQLError(first.message, { extensions: { code: first.extensions.code, ...(isErrorReason(reason) ? { reason } : {}) } });
    }
    return new GraphQLError(`${status}: ${STATUS_CODES[status] ?? ''}`, { extensions: fallbackCode ? { code: fallbackCode } : {} });
  }
}

export const closeSubgraphAgent = () => keepAliveAgent.close();
