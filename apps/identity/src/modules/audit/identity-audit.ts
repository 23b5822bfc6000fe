import type { Connection } from 'mongoose';
import { auditEvent, createAuditOutbox, createAuditRelay, type AuditEvent, type AuditOrigin, type NewAuditEvent } from '@usergraph/audit';
import type { Logger } from '@usergraph/service-kit';
import type { OrgUsersClient } from '../../clients.js';

/**
 * Identity's audit events (logins, failures, lockouts...): written to its
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
  /** Test-only FAULT_INJECTION: crashes the process after the write, before its relay. */
  faults?: (point: string) => void;
}) {
  const outbox = createAuditOutbox(deps.conn);
  const relay = createAuditRelay({
    sink: async (events: AuditEvent[]) => {
      await deps.orgUsers.recordAuditEvents(events);
    },
    sources: [outbox.source()],
    logger: deps.logger,
    intervalMs: deps.relayIntervalMs,
  });
  return {
    /** Stores the event (awaited: once this returns it cannot be lost), then relays it (not awaited). */
    async record(origin: AuditOrigin, e: NewAuditEvent): Promise<void> {
      await outbox.put([auditEvent(origin, e)]);
      deps.faults?.('audit:before-relay');
      relay.kick();
    },
    /** `usergraph reconcile`: everything still in the outbox, now. */
    drain: () => relay.drain(),
    start() {
      relay.start();
      relay.kick();
    },
    stop: () => relay.stop(),
  };
}

export type IdentityAudit = ReturnType<typeof createIdentityAudit>;
