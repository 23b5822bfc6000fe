import type { Connection } from 'mongoose';
import { isDatabaseReady, isDatabaseUnavailableError } from '@usergraph/mongo';
import { startSubgraphService, type Logger, type RunningService } from '@usergraph/service-kit';
import type { OrgUsersEnv } from './env.js';
import { buildOrgUsersSchema } from './schema.js';
import { createOrganizationRepository } from './modules/organizations/organization-repository.js';
import { createOrganizationService } from './modules/organizations/organization-service.js';
import { createOrganizationResolvers } from './modules/organizations/organization-resolvers.js';
import { createOrganizationCommands } from './modules/organizations/organization-commands.js';
import { createUserRepository } from './modules/users/user-repository.js';
import { createUserService } from './modules/users/user-service.js';
import { createUserResolvers } from './modules/users/user-resolvers.js';
import { createUserCommands } from './modules/users/user-commands.js';
import { createConsumerModule } from './modules/consumer/consumer-module.js';
import { createConsumerAccess } from './modules/consumer/consumer-access.js';
import { createUserAdminService } from './modules/user-admin/user-admin-service.js';
import { createUserAdminResolvers } from './modules/user-admin/user-admin-resolvers.js';
import { createIdentityClient, createLicensingClient } from './clients.js';

/** Wires the org-users subgraph on an open database connection; main.ts and tests share it. */
export async function startOrgUsers(env: OrgUsersEnv, logger: Logger, conn: Connection): Promise<RunningService> {
  const organizations = createOrganizationService({ conn, organizations: createOrganizationRepository(conn) });
  const users = createUserService({ conn, users: createUserRepository(conn) });

  if (env.NODE_ENV !== 'production') {
    logger.warn('NATIONAL_ID_ENCRYPTION_KEY: outside production, `npm start` generates this key and keeps it in <USERGRAPH_DATA_DIR, default .data>/secrets.json; production must supply its own');
  }
  const licensing = createLicensingClient({ baseUrl: env.LICENSING_URL, secret: env.INTERNAL_SERVICE_SECRET });
  const identity = createIdentityClient({ baseUrl: env.IDENTITY_URL, secret: env.INTERNAL_SERVICE_SECRET });
  // "Organization-scoped" callers (A's term) are D's admins too: ADMIN users, or applications with organization-users:write.
  const access = createConsumerAccess({ licensing });
  const consumer = createConsumerModule({
    conn,
    users,
    organizations,
    access,
    nationalIdKey: env.NATIONAL_ID_ENCRYPTION_KEY,
  });

  const service = await startSubgraphService({
    name: 'org-users',
    env,
    logger,
    schema: buildOrgUsersSchema([
      createOrganizationResolvers({ organizations }),
      createUserResolvers({ users, organizations }),
      consumer.resolvers,
      createUserAdminResolvers({
        admin: createUserAdminService({ users, identity, licensing, requireAdmin: access.requireOrganizationScope }),
        organizations,
      }),
    ]),
    commands: { ...createOrganizationCommands(organizations), ...createUserCommands(users) },
    ready: () => isDatabaseReady(conn),
    isUnavailable: isDatabaseUnavailableError,
  });
  return {
    ...service,
    async close() {
      await service.close();
      await licensing.close();
      await identity.close();
    },
  };
}
