import type { DocumentNode } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { loadSubgraphTypeDefs, mergeResolvers } from '@usergraph/service-kit';

/** This subgraph's SDL (also used by the gateway's composition check). */
export const orgUsersTypeDefs = (): DocumentNode =>
  loadSubgraphTypeDefs(import.meta.url, ['modules/organizations/organizations.graphql', 'modules/users/users.graphql', 'modules/consumer/consumer.graphql', 'modules/user-admin/user-admin.graphql'], ['type Query', 'type Mutation']);

export const buildOrgUsersSchema = (resolvers: object[]) =>
  buildSubgraphSchema({ typeDefs: orgUsersTypeDefs(), resolvers: mergeResolvers(resolvers as never) as never });
