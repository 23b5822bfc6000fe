import { ApolloGateway } from '@apollo/gateway';
import { request } from 'undici';
import {
  createDocumentPrecheck,
  clientAddressOf,
  closeServer,
  compileTrustedProxies,
  createAccessTokenVerifier,
  createCallerLivenessCheck,
  createInternalClient,
  createServiceTokenCache,
  errSummary,
  GATEWAY_ASSERTION_HEADER,
  injectTraceContext,
  isNoAnswer,
  identityCallerLiveness,
  rateLimitKeyForIp,
  createApolloServer,
  createServiceMetrics,
  graphqlMetricsPlugin,
  startMetricsServer,
  sensitiveMutationLimitRule,
  createServiceHttpServer,
  listen,
  sendJson,
  type Logger,
  type RouteHandler,
} from '@usergraph/service-kit';
import type { GatewayEnv } from './env.js';
import { createGatewayContextFactory, type GatewayContext } from './gateway-context.js';
import { closeSubgraphAgent, SubgraphDataSource } from './subgraph-data-source.js';
import { createSubgraphFetchTimer } from './subgraph-metrics.js';
import { createSupergraphSource } from './supergraph-source.js';
import { rememberVerifiedTokens } from './verified-tokens.js';

/**
 * A subgraph that gave no answer (down, restarting, connection reset) is
 * SERVICE_UNAVAILABLE (reason SUBGRAPH_UNREACHABLE) for the fields it owns;
 * one that answered with a failure is not: that is its own error, or
 * INTERNAL_SERVER_ERROR. Decided on undici's and Node's error codes.
 */
export const isSubgraphUnreachable = (err: unknown): boolean => isNoAnswer(err);

export async function startGateway(env: GatewayEnv, logger: Logger) {
  const jwksUrl = `${env.IDENTITY_URL}/.well-known/jwks.json`;
  const identity = createInternalClient({
    from: 'gateway',
    to: 'identity',
    baseUrl: env.IDENTITY_URL,
    key: env.GATEWAY_SERVICE_KEY,
    injectTraceContext: true,
  });

  // The supergraph comes from the registry (or a file), composed and checked there; never from the subgraphs themselves.
  const supergraph = createSupergraphSource(
    env.SUPERGRAPH_PATH !== undefined
      ? {
          kind: 'file',
          path: env.SUPERGRAPH_PATH,
          pollIntervalMs: env.SUPERGRAPH_POLL_INTERVAL_MS,
          healthCheckTimeoutMs: env.SUPERGRAPH_HEALTH_CHECK_TIMEOUT_MS,
        }
      : {
          kind: 'registry',
          url: env.REGISTRY_URL!,
          key: env.REGISTRY_KEY!,
          pollIntervalMs: env.SUPERGRAPH_POLL_INTERVAL_MS,
          healthCheckTimeoutMs: env.SUPERGRAPH_HEALTH_CHECK_TIMEOUT_MS,
        },
    logger,
  );
  const metrics = createServiceMetrics('gateway', env.METRICS_PORT !== undefined);
  const timed = metrics.enabled ? createSubgraphFetchTimer(metrics.registry) : (_: string, source: SubgraphDataSource) => source;
  const gateway = new ApolloGateway({
    supergraphSdl: supergraph.hook,
    buildService: ({ name, url }) =>
      timed(name, new SubgraphDataSource(name, url!, env.GATEWAY_SERVICE_KEY, env.GATEWAY_TRUSTED_SUBGRAPHS.has(name))),
  });
  const apollo = createApolloServer<GatewayContext>({
    gateway,
    plugins: metrics.enabled ? [graphqlMetricsPlugin(metrics)] : [],
    production: env.NODE_ENV === 'production',
    logger,
    limits: { maxDepth: env.MAX_QUERY_DEPTH, maxAliases: env.MAX_ALIASES, maxDirectives: env.MAX_DIRECTIVES, maxTokens: env.MAX_TOKENS },
    maxCost: env.MAX_QUERY_COST,
    // One password, code or session operation per request, refused before planning (aliases would run them all).
    validationRules: [sensitiveMutationLimitRule()],
    allowBatching: env.MAX_BATCH_SIZE > 1,
    isUnavailable: isSubgraphUnreachable,
    unavailableReason: 'SUBGRAPH_UNREACHABLE',
  });
  await apollo.start();

  const trustedProxies = compileTrustedProxies(env.TRUSTED_PROXIES);
  const assertionFor = createServiceTokenCache(env.GATEWAY_SERVICE_KEY, 'gateway', 'gateway-assertion');

  /** Forwards a public identity endpoint (JWKS, OAuth token) as it is, with the client IP signed as for GraphQL (identity rate-limits /oauth/token by it). */
  const forwardToIdentity =
    (path: string): RouteHandler =>
    async (info, res) => {
      const ip = rateLimitKeyForIp(clientAddressOf(info.req, trustedProxies));
      const sent: Record<string, string> = {
        'content-type': info.req.headers['content-type'] ?? 'application/json',
        ...(info.req.headers.authorization ? { authorization: info.req.headers.authorization } : {}),
        'x-request-id': info.requestId,
        [GATEWAY_ASSERTION_HEADER]: await assertionFor('identity', { ip }),
      };
      injectTraceContext(sent);
      const upstream = await request(`${env.IDENTITY_URL}${path}`, {
        method: info.req.method as 'GET' | 'POST',
        headers: sent,
        body: info.body.length > 0 ? info.body : undefined,
      }).catch((err: unknown) => {
        // Only no answer is "unreachable"; any other failure is ours, and the server answers it as one (500, logged).
        if (!isNoAnswer(err)) throw err;
        logger.warn({ err: errSummary(err), requestId: info.requestId, path }, 'identity unreachable; answered 503');
        return undefined;
      });
      if (!upstream) return sendJson(res, 503, { error: 'temporarily_unavailable' });
      const headers: Record<string, string> = {};
      for (const name of ['cache-control', 'www-authenticate', 'pragma', 'retry-after']) {
        const v = upstream.headers[name];
        if (typeof v === 'string') headers[name] = v;
      }
      res.writeHead(upstream.statusCode, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(Buffer.from(await upstream.body.arrayBuffer()));
    };

  /**
   * Ready while every subgraph of the served supergraph is, and each URL really
   * reaches the subgraph it names (a swapped URL is not ready). The details say
   * which supergraph is served and which newer one was refused.
   */
  async function subgraphsReady() {
    const status = supergraph.status;
    const checks = status.subgraphs.map(async ({ name, url }) => {
      const res = await request(`${new URL(url).origin}/readyz`, { headersTimeout: 1000, bodyTimeout: 1000 });
      const body = (await res.body.json()) as { service?: string };
      return res.statusCode === 200 && body.service === name;
    });
    const answers = await Promise.all(checks.map((c) => c.catch(() => false)));
    const subgraphs = Object.fromEntries(status.subgraphs.map(({ name }, i) => [name, answers[i] ? 'ready' : 'unavailable']));
    return {
      ready: status.subgraphs.length > 0 && answers.every(Boolean),
      details: {
        supergraph: {
          source: status.source,
          revision: status.revision,
          loadedAt: status.loadedAt,
          ...(status.refused ? { refused: status.refused } : {}),
          ...(status.pollFailedAt ? { pollFailedAt: status.pollFailedAt } : {}),
        },
        subgraphs,
      },
    };
  }

  const server = createServiceHttpServer<GatewayContext>({
    service: 'gateway',
    logger,
    maxBodyBytes: env.MAX_BODY_BYTES,
    maxBatchSize: env.MAX_BATCH_SIZE,
    ready: subgraphsReady,
    graphql: {
      apollo,
      context: createGatewayContextFactory(
        rememberVerifiedTokens(createAccessTokenVerifier({ jwksUrl, issuer: env.TOKEN_ISSUER, audience: env.TOKEN_AUDIENCE })),
        createCallerLivenessCheck(identityCallerLiveness(identity), { ttlMs: env.REVOCATION_CHECK_TTL_MS }),
        trustedProxies,
      ),
      precheck: createDocumentPrecheck(env.MAX_TOKENS),
    },
    routes: {
      'GET /.well-known/jwks.json': forwardToIdentity('/.well-known/jwks.json'),
      'POST /oauth/token': forwardToIdentity('/oauth/token'),
    },
  });
  const port = await listen(server, env.PORT, env.HOST);
  logger.info({ port, host: env.HOST }, 'listening');
  const metricsServer =
    env.METRICS_PORT === undefined
      ? undefined
      : await startMetricsServer({ registry: metrics.registry, port: env.METRICS_PORT, host: env.METRICS_HOST, logger });
  return {
    port,
    metrics,
    metricsPort: metricsServer?.port,
    async close() {
      await metricsServer?.close();
      await closeServer(server);
      await apollo.stop();
      await closeSubgraphAgent();
      await identity.close();
    },
  };
}
