import { readFileSync } from 'node:fs';
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
  isNoAnswer,
  identityCallerLiveness,
  rateLimitKeyForIp,
  createApolloServer,
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
import type { SubgraphName } from './subgraphs.js';
import { rememberVerifiedTokens } from './verified-tokens.js';

/**
 * A subgraph that gave no answer (down, restarting, connection reset) is
 * SERVICE_UNAVAILABLE (reason SUBGRAPH_UNREACHABLE) for the fields it owns;
 * one that answered with a failure is not: that is its own error, or
 * INTERNAL_SERVER_ERROR. Decided on undici's and Node's error codes.
 */
export const isSubgraphUnreachable = (err: unknown): boolean => isNoAnswer(err);

/** The composed, checked supergraph written by the build (compose-supergraph.ts). */
export const loadSupergraphSdl = () => readFileSync(new URL('./supergraph.graphql', import.meta.url), 'utf8');

export async function startGateway(env: GatewayEnv, logger: Logger) {
  const baseUrls: Record<SubgraphName, string> = {
    identity: env.IDENTITY_URL,
    'org-users': env.ORG_USERS_URL,
    licensing: env.LICENSING_URL,
  };
  const jwksUrl = `${env.IDENTITY_URL}/.well-known/jwks.json`;
  const identity = createInternalClient({ from: 'gateway', to: 'identity', baseUrl: env.IDENTITY_URL, secret: env.INTERNAL_SERVICE_SECRET });

  // A static supergraph: the gateway never polls subgraphs for their schema.
  const gateway = new ApolloGateway({
    supergraphSdl: loadSupergraphSdl(),
    buildService: ({ name }) => new SubgraphDataSource(name, `${baseUrls[name as SubgraphName]}/graphql`, env.INTERNAL_SERVICE_SECRET),
  });
  const apollo = createApolloServer<GatewayContext>({
    gateway,
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
  const assertionFor = createServiceTokenCache(env.INTERNAL_SERVICE_SECRET, 'gateway', 'gateway-assertion');

  /** Forwards a public identity endpoint (JWKS, OAuth token) as it is, with the client IP signed as for GraphQL (identity rate-limits /oauth/token by it). */
  const forwardToIdentity = (path: string): RouteHandler => async (info, res) => {
    const ip = rateLimitKeyForIp(clientAddressOf(info.req, trustedProxies));
    const upstream = await request(`${env.IDENTITY_URL}${path}`, {
      method: info.req.method as 'GET' | 'POST',
      headers: {
        'content-type': info.req.headers['content-type'] ?? 'application/json',
        ...(info.req.headers.authorization ? { authorization: info.req.headers.authorization } : {}),
        'x-request-id': info.requestId,
        [GATEWAY_ASSERTION_HEADER]: await assertionFor('identity', { ip }),
      },
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

  /** Ready while every subgraph is, and each URL really reaches the subgraph it names (a swapped URL is not ready). */
  async function subgraphsReady(): Promise<boolean> {
    const checks = Object.entries(baseUrls).map(async ([name, url]) => {
      const res = await request(`${url}/readyz`, { headersTimeout: 1000, bodyTimeout: 1000 });
      const body = (await res.body.json()) as { service?: string };
      return res.statusCode === 200 && body.service === name;
    });
    return (await Promise.all(checks.map((c) => c.catch(() => false)))).every(Boolean);
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
  return {
    port,
    async close() {
      await closeServer(server);
      await apollo.stop();
      await closeSubgraphAgent();
      await identity.close();
    },
  };
}
