import type { Connection } from 'mongoose';
import { createServiceAudit, embeddedOutboxSource } from '@usergraph/audit';
import type { Logger } from '@usergraph/service-kit';
import type { OrgUsersClient } from '../../clients.js';

/**
 * Identity's audit events, relayed to org-users' log through `recordAuditEvents`:
 * - in the write they describe: a password change or reset (`credentials`),
 *   an application's creation, status, permissions or secret (`applications`);
 * - in `audit_outbox`: an event that is itself the write (a failed login, a
 *   lockout), or that is written just before its change once every check
 *   passed (a login before its session; a revocation, which spans sessions).
 * Profile events of B's, C's and bootstrap's registrations are written by
 * org-users with the profile (createProfile's `audit`).
 */
export function createIdentityAudit(deps: {
  conn: Connection;
  orgUsers: Pick<OrgUsersClient, 'recordAuditEvents'>;
  logger: Logger;
  relayIntervalMs: number;
  faults?: (point: string) => void;
}) {
  const credentials = embeddedOutboxSource(deps.conn, 'credentials');
  const applications = embeddedOutboxSource(deps.conn, 'applications');
  const audit = createServiceAudit({
    conn: deps.conn,
    sink: (events) => deps.orgUsers.recordAuditEvents(events),
    embedded: [credentials, applications],
    logger: deps.logger,
    intervalMs: deps.relayIntervalMs,
    faults: deps.faults,
  });
  return {
    ...audit,
    /** After a credentials write that carried an event (its id is the user's). */
    kickCredentials: (userId: string) => audit.kick({ source: credentials, id: userId }),
    kickApplication: (clientId: string) => audit.kick({ source: applications, id: clientId }),
  };
}

export type IdentityAudit = ReturnType<typeof createIdentityAudit>;
