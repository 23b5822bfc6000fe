import type { GraphQLDataSource } from '@apollo/gateway';
import { Histogram, type Registry } from 'prom-client';
import type { GatewayContext } from './gateway-context.js';

/**
 * Times every fetch the gateway makes to a subgraph. The `subgraph` label is a
 * name from the composed supergraph (the registry's, never the client's), so
 * its values stay bounded.
 */
export function createSubgraphFetchTimer(registry: Registry) {
  const duration = new Histogram({
    name: 'usergraph_gateway_subgraph_fetch_duration_seconds',
    help: 'Time the gateway waited for one subgraph fetch, by subgraph and outcome.',
    labelNames: ['subgraph', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return (subgraph: string, source: GraphQLDataSource<GatewayContext>): GraphQLDataSource<GatewayContext> => ({
    async process(options) {
      const stop = duration.startTimer({ subgraph });
      try {
        const response = await source.process(options);
        stop({ outcome: (response.errors?.length ?? 0) > 0 ? 'error' : 'success' });
        return response;
      } catch (err) {
        stop({ outcome: 'error' });
        throw err;
      }
    },
  });
}
