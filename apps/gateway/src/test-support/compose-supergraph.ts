/**
 * Tests only: composes this repository's three subgraphs, as the registry
 * would, for the gateway's in-process tests (the gateway itself never imports
 * a subgraph: it reads its supergraph from the registry or SUPERGRAPH_PATH).
 */
import { composeServices } from '@apollo/composition';
import { identityTypeDefs } from '@usergraph/identity/schema';
import { orgUsersTypeDefs } from '@usergraph/org-users/schema';
import { licensingTypeDefs } from '@usergraph/licensing/schema';

const typeDefsOf = { identity: identityTypeDefs, 'org-users': orgUsersTypeDefs, licensing: licensingTypeDefs };

/** Every subgraph routed to `<baseUrl>/graphql` (one test server plays all three). */
export function composeSupergraph(baseUrl = 'http://subgraph.invalid') {
  return composeServices(Object.entries(typeDefsOf).map(([name, typeDefs]) => ({ name, typeDefs: typeDefs(), url: `${baseUrl}/graphql` })));
}
