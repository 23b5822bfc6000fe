import type { Connection } from 'mongoose';
import { createServiceAudit, type ServiceAudit } from '@usergraph/audit';
import type { Logger } from '@usergraph/service-kit';
import type { OrgUsersClient } from '../../clients.js';

/**
 * Identity's audit events (logins, failures, lockouts): written to its
 * `audit_outbox` (the event is the write, or it is written just before the
 * change it records, once every check passed), then relayed to org-users'
 * log through `recordAuditEvents`. Profile events of B's, C's and bootstrap's
 * registrations are written by org-users with the profile (createProfile's `audit`).
 */
export function createIdentityAudit(deps: {
  conn: Connection;
  orgUsers: Pick<OrgUsersClient, 'recordAuditEvents'>;
  logger: Logger;
  relayIntervalMs: number;
  faults?: (point: string) => void;
}): ServiceAudit {
  return createServiceAudit({
    conn: deps.conn,
    sink: async (events) => {
      await deps.orgUsers.recordAuditEvents(events);
    },
    logger: deps.logger,
    intervalMs: deps.relayIntervalMs,
    faults: deps.faults,
  });
}

export type IdentityAudit = ServiceAudit;
