// @usergraph/audit: the audit event (its schema is in @usergraph/contracts), the outbox
// that carries it from the write that makes a change to org-users' log, and the relay.
export {
  WEBHOOK_EVENT_TYPES,
  auditEventSchema,
  type AuditActor,
  type AuditEvent,
  type AuditOrigin,
  type WebhookEventType,
} from '@usergraph/contracts';
export {
  actorOf,
  auditEvent,
  createAuditOrigin,
  deterministicEventId,
  originOf,
  type AuditOriginOf,
  type IsSupportAdmin,
  type NewAuditEvent,
} from './event.js';
export { createRefusalAudit, type RefusalAudit, type RefusalRule } from './refusals.js';
export { AUDIT_OUTBOX_COLLECTION, createAuditOutbox, embeddedOutboxSource, type AuditOutbox, type AuditSource } from './outbox.js';
export { createAuditRelay, type AuditRelay } from './relay.js';
export { auditRelayEnv, AUDIT_FAULT_POINTS } from './env.js';
export { createServiceAudit, type ServiceAudit } from './service-audit.js';
