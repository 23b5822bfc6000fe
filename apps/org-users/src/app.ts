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

/** Wires the org-users subgraph on an open database connection; main.ts and tests share it. */
export async function startOrgUsers(env: OrgUsersEnv, logger: Logger, conn: Connection): Promise<RunningService> {
  const organizations = createOrganizationService({ conn, organizations: createOrganizationRepository(conn) });
  const users = createUserService({ conn, users: createUserRepository(conn) });

  return startSubgraphService({
    name: 'org-users',
    env,
    logger,
    schema: buildOrgUsersSchema([
      createOrganizationResolvers({ organizations }),
      createUserResolvers({ users, organizations }),
    ]),
    commands: { ...createOrganizationCommands(organizations), ...createUserCommands(users) },
    ready: () => isDatabaseReady(conn),
    isUnavailable: isDatabaseUnavailableError,
  });
}
