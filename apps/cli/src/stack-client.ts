import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { identityCommands, licensingCommands, orgUsersCommands, type ServingService } from '@usergraph/contracts';
import { createInternalClient } from '@usergraph/service-kit';
import { repoRoot } from '@usergraph/embedded-store';
import { loadOrCreateDevSecrets } from './secrets.js';
import { stackStateFile } from './stack.js';

/**
 * How operator commands reach a running stack: USERGRAPH_IDENTITY_URL,
 * USERGRAPH_ORG_USERS_URL, USERGRAPH_LICENSING_URL and INTERNAL_SERVICE_SECRET
 * when set (production), else the state `npm start` left in .data/.
 */
export function connectToStack(env: NodeJS.ProcessEnv = process.env) {
  const dataDir = env.USERGRAPH_DATA_DIR ?? join(repoRoot(), '.data');
  let urls: Record<string, string> | undefined;
  if (env.USERGRAPH_IDENTITY_URL && env.USERGRAPH_ORG_USERS_URL && env.USERGRAPH_LICENSING_URL) {
    urls = { identity: env.USERGRAPH_IDENTITY_URL, 'org-users': env.USERGRAPH_ORG_USERS_URL, licensing: env.USERGRAPH_LICENSING_URL };
  } else if (existsSync(stackStateFile(dataDir))) {
    urls = (JSON.parse(readFileSync(stackStateFile(dataDir), 'utf8')) as { urls: Record<string, string> }).urls;
  }
  if (!urls) {
    throw new Error(
      'No running stack found: start one with `npm start`, or set USERGRAPH_IDENTITY_URL, ' +
        'USERGRAPH_ORG_USERS_URL, USERGRAPH_LICENSING_URL and INTERNAL_SERVICE_SECRET.',
    );
  }
  const secret = env.INTERNAL_SERVICE_SECRET ?? loadOrCreateDevSecrets(join(dataDir, 'secrets.json'), env).secrets.INTERNAL_SERVICE_SECRET;
  const client = <To extends ServingService>(to: To) => createInternalClient({ from: 'cli', to, baseUrl: urls[to]!, secret });
  return { identity: client('identity'), orgUsers: client('org-users'), licensing: client('licensing') };
}

export type StackClient = ReturnType<typeof connectToStack>;

/**
 * `usergraph reconcile`: each service repairs its own records, skipping anything younger than
 * `minAgeSeconds`. Profiles first: removing a stuck profile also removes what it left in identity and licensing.
 */
export async function reconcileStack(stack: StackClient, minAgeSeconds: number) {
  return {
    orgUsers: await stack.orgUsers.call(orgUsersCommands.reconcile, { minAgeSeconds }),
    identity: await stack.identity.call(identityCommands.reconcile, { minAgeSeconds }),
    licensing: await stack.licensing.call(licensingCommands.reconcile, { minAgeSeconds }),
  };
}
