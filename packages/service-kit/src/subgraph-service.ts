import type http from 'node:http';
import type { GraphQLSchema, ValidationRule } from 'graphql';
import type { Logger } from 'pino';
import type { ApolloServer } from '@apollo/server';
import { createApolloServer } from './apollo.js';
import { createAccessTokenVerifier } from './auth.js';
import { createCallerLivenessCheck, type CallerLivenessLookup } from './caller-liveness.js';
import { createDocumentPrecheck, type DocumentLimits } from './document-limits.js';
import { closeServer, createServiceHttpServer, listen, type RouteHandler } from './http-server.js';
import { createInternalCommandHandler, type ServedCommand } from './internal-commands.js';
import { createRequestContextFactory, type RequestContext } from './request-context.js';
import { createServiceMetrics, graphqlMetricsPlugin, startMetricsServer, type ServiceMetrics } from './metrics.js';

export interface SubgraphServiceEnv {
  NODE_ENV: 'development' | 'test' | 'production';
  HOST: string;
  PORT: number;
  MAX_BODY_BYTES: number;
  INTERNAL_SERVICE_SECRET: string;
  JWKS_URL: string;
  TOKEN_ISSUER: string;
  TOKEN_AUDIENCE: string;
  REVOCATION_CHECK_TTL_MS: number;
  METRICS_PORT?: number;
  METRICS_HOST?: string;
}

export interface RunningService {
  port: number;
  server: http.Server;
  apollo: ApolloServer<RequestContext>;
  /** The service's Prometheus registry; services add their own metrics to it. */
  metrics: ServiceMetrics;
  /** The metrics listener's port, when METRICS_PORT is set. */
  metricsPort?: number;
  close(): Promise<void>;
}

/** Subgraphs sit behind the gateway, which applies the client-facing limits; these only stop abuse of a direct call. */
export const SUBGRAPH_DOCUMENT_LIMITS: DocumentLimits = { maxDepth: 20, maxAliases: 100, maxDirectives: 100, maxTokens: 5000 };

/**
 * Everything a subgraph process does around its schema: Apollo with the
 * shared settings, token verification in the request context, internal
 * commands, health probes, and listening.
 */
export async function startSubgraphService(opts: {
  name: string;
  env: SubgraphServiceEnv;
  logger: Logger;
  schema: GraphQLSchema;
  commands: readonly ServedCommand[];
  ready: () => Promise<boolean>;
  isUnavailable: (err: unknown) => boolean;
  routes?: Record<string, RouteHandler>;
  /** Whether a token's session or application still stands (identity answers it; see caller-liveness.ts). */
  callerLiveness: CallerLivenessLookup;
  validationRules?: ValidationRule[];
  /** The service's registry, when it registered metrics before starting (e.g. registerMongoPoolMetrics). */
  metrics?: ServiceMetrics;
}): Promise<RunningService> {
  const { env, logger } = opts;
  const metrics = opts.metrics ?? createServiceMetrics(opts.name);
  const apollo = createApolloServer<RequestContext>({
    plugins: [graphqlMetricsPlugin(metrics)],
    schema: opts.schema,
    production: env.NODE_ENV === 'production',
    logger,
    limits: SUBGRAPH_DOCUMENT_LIMITS,
    validationRules: opts.validationRules,
    isUnavailable: opts.isUnavailable,
  });
  await apollo.start();
  const verifier = createAccessTokenVerifier({
    jwksUrl: env.JWKS_URL,
    issuer: env.TOKEN_ISSUER,
    audience: env.TOKEN_AUDIENCE,
  });
  const server = createServiceHttpServer<RequestContext>({
    service: opts.name,
    logger,
    maxBodyBytes: env.MAX_BODY_BYTES,
    ready: opts.ready,
    graphql: {
      apollo,
      context: createRequestContextFactory({
        service: opts.name,
        verifier,
        internalSecret: env.INTERNAL_SERVICE_SECRET,
        callerIsLive: createCallerLivenessCheck(opts.callerLiveness, { ttlMs: env.REVOCATION_CHECK_TTL_MS }),
      }),
      precheck: createDocumentPrecheck(SUBGRAPH_DOCUMENT_LIMITS.maxTokens),
    },
    internalCommands: createInternalCommandHandler({
      service: opts.name,
      secret: env.INTERNAL_SERVICE_SECRET,
      logger,
      commands: opts.commands,
      isUnavailable: opts.isUnavailable,
    }),
    routes: opts.routes,
  });
  const port = await listen(server, env.PORT, env.HOST);
  logger.info({ port, host: env.HOST }, 'listening');
  const metricsServer =
    env.METRICS_PORT === undefined
      ? undefined
      : await startMetricsServer({ registry: metrics.registry, port: env.METRICS_PORT, host: env.METRICS_HOST ?? '127.0.0.1', logger });
  return {
    port,
    server,
    apollo,
    metrics,
    metricsPort: metricsServer?.port,
    async close() {
      await metricsServer?.close();
      await closeServer(server);
      await apollo.stop();
    },
  };
}
