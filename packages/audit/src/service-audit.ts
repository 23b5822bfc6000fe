import type { Connection } from 'mongoose';
import type { AuditEvent, AuditOrigin } from '@usergraph/contracts';
import { errSummary, type Logger } from '@usergraph/service-kit';
import { auditEvent, type NewAuditEvent } from './event.js';
import { createAuditOutbox, type AuditSource } from './outbox.js';
import { createAuditRelay, type AuditSinkAnswer } from './relay.js';

/**
 * One service's side of the audit log: its `audit_outbox`, the documents
 * that carry events in their own writes (`embedded`), and the relay that
 * moves both to org-users' log (`sink`).
 */
export function createServiceAudit(opts: {
  conn: Connection;
  sink: (events: AuditEvent[]) => Promise<AuditSinkAnswer>;
  embedded?: AuditSource[];
  logger: Logger;
  intervalMs: number;
  /** Test-only FAULT_INJECTION: crashes the process after a write that carries events, before its relay. */
  faults?: (point: string) => void;
}) {
  const outbox = createAuditOutbox(opts.conn);
  const relay = createAuditRelay({
    sink: opts.sink,
    sources: [...(opts.embedded ?? []), outbox.source()],
    logger: opts.logger,
    intervalMs: opts.intervalMs,
  });
  /** After a write that carries events: relays them, not awaited. `doc`: the embedded document that holds them. */
  function kick(doc?: { source: AuditSource; id: string }): void {
    opts.faults?.('audit:before-relay');
    relay.kick(doc);
  }
  return {
    outbox,
    kick,
    /**
     * An event that is itself the write (a failed login), or that is written just before its change once
     * every check passed: stored in the outbox (once this returns it cannot be lost), then relayed.
     */
    record: async (origin: AuditOrigin, e: NewAuditEvent): Promise<void> => {
      await outbox.put([auditEvent(origin, e)]);
      kick();
    },
    /** `usergraph reconcile`: everything waiting, now; the number of events moved. */
    drain: relay.drain,
    start: () => {
      relay.start();
      // What a crash left behind: now, not an interval later.
      relay
        .drain()
        .catch((err: unknown) => opts.logger.error({ err: errSummary(err) }, 'audit relay: first pass failed, retried next interval'));
    },
    stop: relay.stop,
  };
}

export type ServiceAudit = ReturnType<typeof createServiceAudit>;
