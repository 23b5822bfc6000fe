/** Issue 16's audit trail, as an ADMIN reads it (audit.e2e and audit-crash.e2e). */
export const AUDIT_EVENTS = `query Audit($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    errors { path message fullMessage }
    nodes { id action actor { type id } target { type id } outcome changedFields clientIp requestId traceId occurredAt }
    edges { cursor }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}`;

export interface AuditNode {
  id: string;
  action: string;
  actor: { type: string; id: string };
  target: { type: string; id: string };
  outcome: string;
  changedFields: string[] | null;
  clientIp: string | null;
  requestId: string | null;
  traceId: string | null;
  occurredAt: string;
}
