import type { DocumentNode } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { loadSubgraphTypeDefs, mergeResolvers } from '@usergraph/service-kit';

/** This subgraph's SDL (also used by the gateway's composition check). */
export const licensingTypeDefs = (): DocumentNode =>
  loadSubgraphTypeDefs(import.meta.url, ['modules/licenses/licenses.graphql', 'modules/groups/groups.graphql'], ['type Query', 'type Mutation']);

export const buildLicensingSchema = (resolvers: object[]) =>
  buildSubgraphSchema({ typeDefs: licensingTypeDefs(), resolvers: mergeResolvers(resolvers as never) as never });
