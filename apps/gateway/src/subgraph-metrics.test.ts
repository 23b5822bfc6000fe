import { GraphQLError } from 'graphql';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { GraphQLDataSource } from '@apollo/gateway';
import { createSubgraphFetchTimer } from './subgraph-metrics.js';
import type { GatewayContext } from './gateway-context.js';

describe('createSubgraphFetchTimer', () => {
  it('observes each subgraph fetch by subgraph and outcome, and rethrows a failed fetch', async () => {
    const registry = new Registry();
    const timed = createSubgraphFetchTimer(registry);
    const ok: GraphQLDataSource<GatewayContext> = { process: async () => ({ data: { a: 1 } }) };
    const withErrors: GraphQLDataSource<GatewayContext> = { process: async () => ({ errors: [new GraphQLError('no')] }) };
    const failing: GraphQLDataSource<GatewayContext> = {
      process: async () => {
        throw new Error('unreachable');
      },
    };
    const options = {} as Parameters<GraphQLDataSource<GatewayContext>['process']>[0];
    await timed('identity', ok).process(options);
    await timed('identity', ok).process(options);
    await timed('licensing', withErrors).process(options);
    await expect(timed('org-users', failing).process(options)).rejects.toThrow('unreachable');

    const text = await registry.metrics();
    expect(text).toContain('usergraph_gateway_subgraph_fetch_duration_seconds_count{subgraph="identity",outcome="success"} 2');
    expect(text).toContain('usergraph_gateway_subgraph_fetch_duration_seconds_count{subgraph="licensing",outcome="error"} 1');
    expect(text).toContain('usergraph_gateway_subgraph_fetch_duration_seconds_count{subgraph="org-users",outcome="error"} 1');
  });
});
