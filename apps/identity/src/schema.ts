import type { DocumentNode } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { loadSubgraphTypeDefs, mergeResolvers } from '@usergraph/service-kit';
import type { Resolvers } from './generated/resolvers-types.js';

/** This subgraph's SDL (also used by the gateway's composition check, and by codegen.ts for the resolvers' types). */
export const identityTypeDefs = (): DocumentNode =>
  loadSubgraphTypeDefs(
    import.meta.url,
    [
      'modules/sessions/sessions.graphql',
      'modules/registration/registration.graphql',
      'modules/registration/register-user.graphql',
      'modules/verification/verification.graphql',
      'modules/credentials/passwords.graphql',
      'modules/applications/applications.graphql',
    ],
    ['type Query', 'type Mutation'],
  );

export const buildIdentitySchema = (resolvers: Resolvers[]) =>
  buildSubgraphSchema([{ typeDefs: identityTypeDefs(), resolvers: mergeResolvers(resolvers) }]);
