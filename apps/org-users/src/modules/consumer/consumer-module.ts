import { hkdfSync } from 'node:crypto';
import type { Connection } from 'mongoose';
import type { RateLimiterFactory } from '@usergraph/mongo';
import { createSecretBox, type Logger, type RegistrationCounter } from '@usergraph/service-kit';
import type { AccessPolicy } from '../../access-policy.js';
import type { OrganizationService } from '../organizations/organization-service.js';
import type { UserService } from '../users/user-service.js';
import { ACCOUNT_WRITE_LIMIT, createAccountService } from './account-service.js';
import type { IdentityClient, LicensingClient } from '../../clients.js';
import { createConnectionRepository } from './connection-repository.js';
import { createConsumerResolvers } from './consumer-resolvers.js';
import { createFinancialDataService } from './financial-data-service.js';
import { createConsumerRegistration } from './registration-service.js';
import { createTradelineRepository } from './tradeline-repository.js';

/** Wires A's consumer module: registration, account state, connections and tradelines. */
export function createConsumerModule(deps: {
  conn: Connection;
  users: UserService;
  organizations: OrganizationService;
  access: AccessPolicy;
  /** 32 bytes, base64. */
  nationalIdKey: string;
  identity: Pick<IdentityClient, 'revokeSessions'>;
  logger: Logger;
  licensing: Pick<LicensingClient, 'revokeAllLicenses'>;
  /** Counts registerOrganizationUser as dialect A (usergraph_registrations_total). */
  registrations: RegistrationCounter;
  audit: { kickFinancial: (collection: 'connections' | 'tradelines', id: string) => void };
  /** Org-users' limiters (its rate_limits collection), shared with the webhook limits. */
  limiters: RateLimiterFactory;
}) {
  const { conn, users, access } = deps;
  const connections = createConnectionRepository(conn);
  const registration = createConsumerRegistration({
    conn,
    users,
    organizations: deps.organizations,
    access,
    nationalIds: createSecretBox(deps.nationalIdKey),
    // A key of its own for Idempotency-Key fingerprints, derived from the one secret this module holds.
    fingerprintKey: Buffer.from(
      hkdfSync('sha256', Buffer.from(deps.nationalIdKey, 'base64'), '', 'usergraph idempotency fingerprints', 32),
    ),
    logger: deps.logger,
  });
  registration.registerOrganizationUser = deps.registrations.counted('A', registration.registerOrganizationUser);
  const resolvers = createConsumerResolvers({
    registration,
    accounts: createAccountService({
      users,
      connections,
      access,
      identity: deps.identity,
      licensing: deps.licensing,
      accountWrites: deps.limiters.limiter('account-writes', ACCOUNT_WRITE_LIMIT),
    }),
    financialData: createFinancialDataService({
      users,
      connections,
      tradelines: createTradelineRepository(conn),
      access,
      audit: deps.audit,
    }),
    auditOrigin: access.auditOrigin,
  });
  return { resolvers };
}
