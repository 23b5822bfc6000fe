import type { DocumentNode } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { loadSubgraphTypeDefs, mergeResolvers } from '@usergraph/service-kit';
import type { Resolvers } from './generated/resolvers-types.js';

/** This subgraph's SDL (also used by the gateway's composition check, and by codegen.ts for the resolvers' types). */
export const licensingTypeDefs = (): DocumentNode =>
  loadSubgraphTypeDefs(
    import.meta.url,
    ['modules/licenses/licenses.graphql', 'modules/groups/groups.graphql'],
    ['type Query', 'type Mutation'],
  );

export const buildLicensingSchema = (resolvers: Resolvers[]) =>
  buildSubgraphSchema([{ typeDefs: licensingTypeDefs(), resolvers: mergeResolvers(resolvers) }]);
