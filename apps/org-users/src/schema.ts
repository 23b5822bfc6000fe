import type { DocumentNode } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { loadSubgraphTypeDefs, mergeResolvers } from '@usergraph/service-kit';
import type { Resolvers } from './generated/resolvers-types.js';

/** This subgraph's SDL (also used by the gateway's composition check, and by codegen.ts for the resolvers' types). */
export const orgUsersTypeDefs = (): DocumentNode =>
  loadSubgraphTypeDefs(
    import.meta.url,
    [
      'modules/organizations/organizations.graphql',
      'modules/users/users.graphql',
      'modules/consumer/consumer.graphql',
      'modules/user-admin/user-admin.graphql',
      'modules/webhooks/webhooks.graphql',
      'modules/audit/audit.graphql',
    ],
    ['type Query', 'type Mutation'],
  );

export const buildOrgUsersSchema = (resolvers: Resolvers[]) =>
  buildSubgraphSchema([{ typeDefs: orgUsersTypeDefs(), resolvers: mergeResolvers(resolvers) }]);
