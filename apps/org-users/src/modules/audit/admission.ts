import { mayRecordAuditAction, webhookTypeOf, type AuditEvent, type AuditProducer, type AuditRefusalReason } from '@usergraph/contracts';

/**
 * How far ahead of org-users' clock an event may be: clock skew between the
 * services' hosts (NTP keeps it under a second; five minutes leaves room for a
 * badly kept one). A later `occurredAt` would sit on top of the newest-first
 * trail and outlive retention, so it is stored as the time the log received
 * the event: kept (a producer's fast clock must not lose its events), never
 * ahead of the trail.
 */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

export interface AuditRefusal {
  id: string;
  reason: AuditRefusalReason;
}

/**
 * What org-users stores of events from `from` (a service's relay, or its own):
 * nothing it can derive is taken from the producer. Each event is judged on
 * its own, so one bad event never holds back the others:
 * - its action must be in `from`'s row of AUDIT_ACTIONS;
 * - `webhookType` comes from that row, whatever the producer sent (a forged one
 *   would be signed and delivered to customers' endpoints);
 * - `occurredAt` at most MAX_FUTURE_SKEW_MS ahead (later: the receipt time); older is legitimate (an
 *   outbox replayed after org-users was down for days) down to the retention
 *   limit, past which the sweep would delete it at once;
 * - the stored id is `<from>:<id>`: a producer cannot take another's ids first
 *   (a real event would then be dropped as a duplicate), and the same event
 *   replayed by the same service is still one.
 */
export function admitAuditEvents(
  from: AuditProducer,
  events: readonly AuditEvent[],
  now: Date,
  retentionDays: number,
): { admitted: AuditEvent[]; refused: AuditRefusal[] } {
  const latest = now.getTime() + MAX_FUTURE_SKEW_MS;
  const earliest = now.getTime() - retentionDays * 86_400_000;
  const admitted: AuditEvent[] = [];
  const refused: AuditRefusal[] = [];
  for (const event of events) {
    const at = event.occurredAt.getTime();
    const reason: AuditRefusalReason | undefined = !mayRecordAuditAction(from, event.action, event.outcome)
      ? 'AUDIT_ACTION_NOT_ALLOWED'
      : at < earliest
        ? 'AUDIT_EVENT_EXPIRED'
        : undefined;
    if (reason) {
      refused.push({ id: event.id, reason });
      continue;
    }
    const { webhookType: _claimed, ...rest } = event;
    const webhookType = webhookTypeOf(from, event.action, event.outcome);
    admitted.push({
      ...rest,
      id: `${from}:${event.id}`,
      ...(at > latest ? { occurredAt: now } : {}),
      ...(webhookType ? { webhookType } : {}),
    });
  }
  return { admitted, refused };
}
