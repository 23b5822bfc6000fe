/**
 * Build step: composes the supergraph from the three subgraphs' SDL with
 * @apollo/composition and writes dist/supergraph.graphql, the file the
 * gateway loads. A composition error fails the build.
 */
import { writeFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { identityTypeDefs } from '@usergraph/identity/schema';
import { orgUsersTypeDefs } from '@usergraph/org-users/schema';
import { licensingTypeDefs } from '@usergraph/licensing/schema';
import { SUBGRAPH_NAMES, type SubgraphName } from './subgraphs.js';

const typeDefsOf: Record<SubgraphName, () => ReturnType<typeof identityTypeDefs>> = {
  identity: identityTypeDefs,
  'org-users': orgUsersTypeDefs,
  licensing: licensingTypeDefs,
};

export function composeSupergraph() {
  return composeServices(
    SUBGRAPH_NAMES.map((name) => ({
      name,
      typeDefs: typeDefsOf[name](),
      // Placeholder: the gateway routes by subgraph name to the URLs in its env.
      url: `http://${name}.subgraph.invalid/graphql`,
    })),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = composeSupergraph();
  if (result.errors) {
    process.stderr.write(`Supergraph composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}\n`);
    process.exit(1);
  }
  writeFileSync(new URL('./supergraph.graphql', import.meta.url), result.supergraphSdl);
  for (const hint of result.hints) process.stdout.write(`composition hint: ${hint.definition.code}: ${hint.message}\n`);
  process.stdout.write('supergraph composed: dist/supergraph.graphql\n');
}
