import type { Connection } from 'mongoose';
import { isDatabaseReady, isDatabaseUnavailableError } from '@usergraph/mongo';
import { startSubgraphService, type Logger, type RunningService } from '@usergraph/service-kit';
import type { LicensingEnv } from './env.js';
import { buildLicensingSchema } from './schema.js';
import { createAssignmentRepository } from './modules/licenses/assignment-repository.js';
import { createLicenseService } from './modules/licenses/license-service.js';
import { createLicenseResolvers } from './modules/licenses/license-resolvers.js';
import { createLicenseCommands } from './modules/licenses/license-commands.js';

/** Wires the licensing & groups subgraph on an open database connection; main.ts and tests share it. */
export async function startLicensing(env: LicensingEnv, logger: Logger, conn: Connection): Promise<RunningService> {
  const licenses = createLicenseService({ assignments: createAssignmentRepository(conn) });
  return startSubgraphService({
    name: 'licensing',
    env,
    logger,
    schema: buildLicensingSchema([createLicenseResolvers({ licenses })]),
    commands: { ...createLicenseCommands(licenses) },
    ready: () => isDatabaseReady(conn),
    isUnavailable: isDatabaseUnavailableError,
  });
}
