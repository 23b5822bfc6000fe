import type { DocumentNode } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { loadSubgraphTypeDefs, mergeResolvers } from '@usergraph/service-kit';

/** This subgraph's SDL (also used by the gateway's composition check). */
export const identityTypeDefs = (): DocumentNode =>
  loadSubgraphTypeDefs(import.meta.url, ['modules/sessions/sessions.graphql', 'modules/registration/registration.graphql', 'modules/registration/register-user.graphql', 'modules/verification/verification.graphql', 'modules/credentials/passwords.graphql', 'modules/applications/applications.graphql'], ['type Query', 'type Mutation']);

export const buildIdentitySchema = (resolvers: object[]) =>
  buildSubgraphSchema({ typeDefs: identityTypeDefs(), resolvers: mergeResolvers(resolvers as never) as never });
