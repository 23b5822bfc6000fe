import type { Connection } from 'mongoose';
import { createServiceAudit, embeddedOutboxSource } from '@usergraph/audit';
import type { Logger } from '@usergraph/service-kit';
import type { OrgUsersClient } from '../../clients.js';

/**
 * Identity's audit events, relayed to org-users' log through `recordAuditEvents`:
 * - in the write they describe: a password change or reset, and a sign-out
 *   everywhere, with the sessions' cut-off (`credentials`); a login, with its
 *   session's insert, and a logout or one session's revocation (`sessions`);
 *   an application's creation, status, permissions or secret (`applications`);
 * - in `audit_outbox`: an event that is itself the write (a failed login, a
 *   lockout).
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
  // Looked at whole only at start and in reconcile (a scan): the interval retries the sessions kicks named.
  const sessions = embeddedOutboxSource(deps.conn, 'sessions');
  const audit = createServiceAudit({
    conn: deps.conn,
    sink: (events) => deps.orgUsers.recordAuditEvents(events),
    embedded: [credentials, applications, sessions],
    logger: deps.logger,
    intervalMs: deps.relayIntervalMs,
    faults: deps.faults,
  });
  return {
    ...audit,
    /** After a credentials write that carried an event (its id is the user's). */
    kickCredentials: (userId: string) => audit.kick({ source: credentials, id: userId }),
    kickApplication: (clientId: string) => audit.kick({ source: applications, id: clientId }),
    /** After a session write that carried an event (a login, a revocation). */
    kickSession: (sessionId: string) => audit.kick({ source: sessions, id: sessionId }),
  };
}

export type IdentityAudit = ReturnType<typeof createIdentityAudit>;
