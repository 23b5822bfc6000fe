import { ApolloServer, type ApolloServerOptions, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema, ValidationRule } from 'graphql';
import type { Logger } from 'pino';
import { createErrorFormatter, type ErrorReason } from './errors.js';
import { operationLimitsPlugin } from './cost-limit.js';
import { documentLimitRules, type DocumentLimits } from './document-limits.js';
import { knownOperationTypeRule } from './operation-types.js';

/**
 * Apollo Server with the settings every usergraph server shares: CSRF
 * prevention on, no stack traces, and in production no introspection, no
 * field suggestions and no landing page.
 */
export function createApolloServer<TContext extends BaseContext>(opts: {
  schema?: GraphQLSchema;
  gateway?: ApolloServerOptions<TContext>['gateway'];
  production: boolean;
  logger: Logger;
  limits: DocumentLimits;
  /** Refuses operations costing more (see cost-limit.ts); the gateway sets it, subgraphs keep the cheaper rules. */
  maxCost?: number;
  /** The service's own rules, after the document limits (e.g. sensitiveMutationLimitRule). */
  validationRules?: ValidationRule[];
  /** Batched requests are checked for size by the HTTP server; Apollo only needs to accept them. */
  allowBatching?: boolean;
  isUnavailable: (err: unknown) => boolean;
  /** The reason an `isUnavailable` error is given (default STORE_UNAVAILABLE; the gateway's is SUBGRAPH_UNREACHABLE). */
  unavailableReason?: ErrorReason;
  plugins?: Array<ApolloServerPlugin<TContext>>;
}): ApolloServer<TContext> {
  const common = {
    csrfPrevention: true,
    // Each main.ts stops the HTTP server first, then Apollo (onShutdownSignal). Apollo's
    // own handler would re-raise the signal once stopped and cut that drain short.
    stopOnTerminationSignals: false,
    introspection: !opts.production,
    hideSchemaDetailsFromClientErrors: opts.production,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: opts.allowBatching ?? false,
    parseOptions: { maxTokens: opts.limits.maxTokens },
    validationRules: [...documentLimitRules(opts.limits), knownOperationTypeRule, ...(opts.validationRules ?? [])],
    formatError: createErrorFormatter({
      logger: opts.logger,
      isUnavailable: opts.isUnavailable,
      unavailableReason: opts.unavailableReason,
    }),
    plugins: [
      // No usage reporting exists to consume traces; computing them only costs time.
      ApolloServerPluginInlineTraceDisabled(),
      ...(opts.production ? [ApolloServerPluginLandingPageDisabled()] : []),
      // One debug line per operation (never its variables): lets tests and
      // operators count the calls the gateway makes for one client request.
      {
        async requestDidStart({ request, contextValue }: { request: { operationName?: string | null }; contextValue: unknown }) {
          if (opts.logger.isLevelEnabled('debug')) {
            const requestId = (contextValue as { requestId?: string }).requestId;
            opts.logger.debug({ requestId, operationName: request.operationName ?? null }, 'graphql operation');
          }
        },
      },
      operationLimitsPlugin<TContext>({ maxCost: opts.maxCost }),
      ...(opts.plugins ?? []),
    ],
    logger: {
      debug: (msg: string) => opts.logger.debug(msg),
      info: (msg: string) => opts.logger.info(msg),
      warn: (msg: string) => opts.logger.warn(msg),
      error: (msg: string) => opts.logger.error(msg),
    },
  };
  if (opts.gateway) return new ApolloServer<TContext>({ ...common, gateway: opts.gateway });
  if (!opts.schema) throw new Error('createApolloServer needs a schema or a gateway');
  return new ApolloServer<TContext>({ ...common, schema: opts.schema });
}
