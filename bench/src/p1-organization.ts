import { request } from 'undici';
import { bootstrap, connectToStack, parseBootstrapArgs, type RunningStack } from '@usergraph/cli';
import { loadOrgUsersSearch, openOrgUsersDb, seedProfiles } from './seed.js';

/**
 * P1's organization on a running stack, for the benches that run P1 alone (metrics-cost, tracing-cost):
 * `bench` with its admin and an application allowed `organization-users:read`, `users` profiles in all
 * (the admin included), and `tokens` client-credentials access tokens of that application.
 */
export async function prepareP1Organization(
  stack: RunningStack,
  opts: { users: number; tokens: number; password: string },
): Promise<string[]> {
  const client = connectToStack({
    USERGRAPH_IDENTITY_URL: stack.urls.identity,
    USERGRAPH_ORG_USERS_URL: stack.urls['org-users'],
    USERGRAPH_LICENSING_URL: stack.urls.licensing,
    INTERNAL_SERVICE_SECRET: stack.secrets.INTERNAL_SERVICE_SECRET,
  });
  const org = await bootstrap(
    client,
    parseBootstrapArgs([
      ...['--org-slug', 'bench', '--org-name', 'Bench', '--admin-email', 'admin@bench.test', '--admin-username', 'admin'],
      ...['--admin-password', opts.password, '--permissions', 'organization-users:read'],
    ]),
  );
  const db = await openOrgUsersDb(stack.mongodbUri, 'orgusers');
  try {
    await seedProfiles(db, { organizationId: org.organization.id, from: 0, count: opts.users - 1, search: await loadOrgUsersSearch() });
  } finally {
    await db.close();
  }
  const tokenUrl = stack.gatewayUrl.replace('/graphql', '/oauth/token');
  return Promise.all(
    Array.from({ length: opts.tokens }, async () => {
      const res = await request(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          grant_type: 'client_credentials',
          client_id: org.application.clientId,
          client_secret: org.application.clientSecret,
        }),
      });
      const body = (await res.body.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`token request failed: ${res.statusCode}`);
      return body.access_token;
    }),
  );
}
