import { print } from 'graphql';
import { identityTypeDefs } from '@usergraph/identity/schema';
import { orgUsersTypeDefs } from '@usergraph/org-users/schema';
import { licensingTypeDefs } from '@usergraph/licensing/schema';
import { compose } from '@usergraph/registry';
import { registryKeyFor } from '@usergraph/service-kit';
import { callRegistry } from './schema-commands.js';

/**
 * This repository's subgraphs and their SDL, as their builds ship it, in the
 * order a fresh registry accepts them: org-users owns User, which the others
 * extend (identity's @external fields need it already composed).
 */
export const LOCAL_SUBGRAPHS = {
  'org-users': () => print(orgUsersTypeDefs()),
  licensing: () => print(licensingTypeDefs()),
  identity: () => print(identityTypeDefs()),
} as const;

/**
 * `npm start`'s deploy step: publishes each local subgraph with its own
 * credential, as its team's pipeline would. The same SDL and URL again is no
 * new version. A local schema change that breaks clients of the last local
 * run is let through (recorded as such): on a developer's machine the code
 * is the truth. A composition failure stops the start.
 */
export async function publishLocalSubgraphs(opts: {
  registryUrl: string;
  registrySecret: string;
  urls: Record<keyof typeof LOCAL_SUBGRAPHS, string>;
}): Promise<void> {
  const conn = { url: opts.registryUrl, keyFor: (principal: string) => registryKeyFor(opts.registrySecret, principal) };
  for (const [name, sdlOf] of Object.entries(LOCAL_SUBGRAPHS) as Array<[keyof typeof LOCAL_SUBGRAPHS, () => string]>) {
    const answer = await callRegistry(conn, `subgraph:${name}`, 'POST', '/v1/publish', {
      subgraph: name,
      sdl: sdlOf(),
      url: `${opts.urls[name]}/graphql`,
      message: 'npm start',
      actor: 'usergraph start',
      allowBreakingReason: 'local development stack: the working copy is the truth',
    });
    if (answer.status >= 300) throw new Error(`publishing ${name} to the registry was refused: ${JSON.stringify(answer.body.error)}`);
  }
}

/** The three local subgraphs composed as the registry would, routed to `<urls[name]>/graphql` (the bench and tooling; the gateway reads the registry). */
export function composeLocalSupergraph(
  urls: Record<keyof typeof LOCAL_SUBGRAPHS, string> = {
    identity: 'http://identity.invalid',
    'org-users': 'http://org-users.invalid',
    licensing: 'http://licensing.invalid',
  },
): string {
  const result = compose(
    (Object.keys(LOCAL_SUBGRAPHS) as Array<keyof typeof LOCAL_SUBGRAPHS>).map((name) => ({
      name,
      sdl: LOCAL_SUBGRAPHS[name](),
      url: `${urls[name]}/graphql`,
    })),
  );
  if (!result.ok) throw new Error(`the local subgraphs do not compose: ${result.errors.map((e) => e.message).join('; ')}`);
  return result.supergraphSdl;
}
