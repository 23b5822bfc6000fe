import type { Connection } from 'mongoose';
import { orgUsersCommands } from '@usergraph/contracts';
import { createRefusalAudit, createServiceAudit, embeddedOutboxSource } from '@usergraph/audit';
import { LICENSING_REFUSALS } from './audit-refusals.js';
import { isDatabaseReady, isDatabaseUnavailableError } from '@usergraph/mongo';
import {
  isNotFound,
  mergeResolvers,
  createInternalClient,
  identityCallerLiveness,
  startSubgraphService,
  createServiceMetrics,
  registerMongoPoolMetrics,
  type Logger,
  type RunningService,
} from '@usergraph/service-kit';
import type { LicensingEnv } from './env.js';
import { buildLicensingSchema } from './schema.js';
import { createAccessPolicy } from './access-policy.js';
import { assignmentId, createAssignmentRepository } from './modules/licenses/assignment-repository.js';
import { createLicenseStateRepository } from './modules/licenses/license-state-repository.js';
import { createLicenseService } from './modules/licenses/license-service.js';
import { createLicenseResolvers } from './modules/licenses/license-resolvers.js';
import { createLicenseCommands } from './modules/licenses/license-commands.js';
import { createCounterRepair } from './modules/licenses/repair.js';
import { createGroupRepository } from './modules/groups/group-repository.js';
import { createGroupService } from './modules/groups/group-service.js';
import { createGroupResolvers } from './modules/groups/group-resolvers.js';
import { buildMemberCountsAtStart } from './startup-build.js';

/** Wires the licensing & groups subgraph on an open database connection; main.ts and tests share it. */
export async function startLicensing(env: LicensingEnv, logger: Logger, conn: Connection): Promise<RunningService> {
  const metrics = createServiceMetrics('licensing', env.METRICS_PORT !== undefined);
  registerMongoPoolMetrics(metrics.registry, conn.getClient());
  const orgUsers = createInternalClient({
    from: 'licensing',
    to: 'org-users',
    baseUrl: env.ORG_USERS_URL,
    secret: env.INTERNAL_SERVICE_SECRET,
  });
  const identity = createInternalClient({
    from: 'licensing',
    to: 'identity',
    baseUrl: env.IDENTITY_URL,
    secret: env.INTERNAL_SERVICE_SECRET,
  });
  const assignments = createAssignmentRepository(conn);
  const groupRepository = createGroupRepository(conn);
  await buildMemberCountsAtStart(conn, env, logger);
  if (env.FAULT_INJECTION && env.NODE_ENV === 'production') throw new Error('FAULT_INJECTION is for tests and is refused in production');
  const faults = (point: string) => {
    if (env.FAULT_INJECTION === point) {
      logger.warn({ point }, 'fault injection: crashing now');
      process.kill(process.pid, 'SIGKILL');
    }
  };
  // License, seat and group events ride on the assignment, license_state and group writes; the relay takes them to org-users.
  const auditSources = {
    assignments: embeddedOutboxSource(conn, 'assignments'),
    state: embeddedOutboxSource(conn, 'license_state'),
    groups: embeddedOutboxSource(conn, 'groups'),
  };
  const audit = createServiceAudit({
    conn,
    sink: (events) => orgUsers.call(orgUsersCommands.recordAuditEvents, { events }),
    embedded: Object.values(auditSources),
    logger,
    intervalMs: env.AUDIT_RELAY_INTERVAL_SECONDS * 1000,
    faults,
  });
  const groups = createGroupService({
    conn,
    groups: groupRepository,
    assignments,
    audit: { record: audit.record, kickGroup: (id) => audit.kick({ source: auditSources.groups, id }) },
  });
  const state = createLicenseStateRepository(conn);
  const licenses = createLicenseService({
    assignments,
    state,
    groups,
    faults,
    audit: {
      kickAssignment: (organizationId, userId) =>
        audit.kick({ source: auditSources.assignments, id: assignmentId(organizationId, userId) }),
      kickState: (organizationId) => audit.kick({ source: auditSources.state, id: organizationId }),
    },
  });
  const existingUserIds = async (organizationId: string, userIds: string[]) =>
    (await orgUsers.call(orgUsersCommands.existingUserIds, { organizationId, userIds })).userIds;

  // Every read and write of licenses, groups and seats is decided in access-policy.ts.
  const policy = createAccessPolicy({
    assignmentOf: (organizationId, userId) => assignments.find(organizationId, userId),
    statusOf: async (organizationId, userId) => {
      try {
        return (await orgUsers.call(orgUsersCommands.getProfile, { organizationId, userId })).status;
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
  });

  // Refused administrative mutations (docs/audit-log.md): recorded, at most AUDIT_REFUSED_PER_MINUTE per caller.
  const refusals = createRefusalAudit({
    record: audit.record,
    originOf: policy.auditOrigin,
    perMinute: env.AUDIT_REFUSED_PER_MINUTE,
    logger,
  });

  const service = await startSubgraphService({
    name: 'licensing',
    metrics,
    env,
    logger,
    schema: buildLicensingSchema([
      refusals.wrap(
        mergeResolvers([
          createLicenseResolvers({ licenses, groups, policy }),
          createGroupResolvers({ groups, licenses, policy, existingUserIds }),
        ]),
        LICENSING_REFUSALS,
      ),
    ]),
    commands: createLicenseCommands(
      licenses,
      existingUserIds,
      createCounterRepair({ groups: groupRepository, assignments, state }),
      audit.drain,
    ),
    ready: () => isDatabaseReady(conn),
    isUnavailable: isDatabaseUnavailableError,
    callerLiveness: identityCallerLiveness(identity),
  });
  audit.start();
  return {
    ...service,
    async close() {
      await service.close();
      await audit.stop();
      await orgUsers.close();
      await identity.close();
    },
  };
}
