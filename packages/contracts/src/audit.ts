import { z } from 'zod';
import { id } from './common.js';

/**
 * The audit event as every service writes it and org-users stores it
 * (`audit_events`, see packages/audit). It names who did what to whom, never a
 * value: no email, name, phone, national id, password, token or secret.
 * It lives here, not in packages/audit, because the `recordAuditEvents`
 * contract carries it and contracts depend on zod and validation only.
 */

/** The webhook event types (issue 16): an audit event that maps to one carries it as `webhookType`. */
export const WEBHOOK_EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.deleted',
  'user.licenses_changed',
  'user.groups_changed',
  'session.revoked',
  'user.locked_out',
  'application.changed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const auditActorSchema = z.strictObject({
  type: z.enum(['user', 'application', 'support_admin', 'system', 'anonymous']),
  /** A user id, an application's client id, or a system job's name ('reconcile'); '-' for anonymous. */
  id: z.string().min(1).max(128),
});

export const auditTargetSchema = z.strictObject({
  /** 'user', 'application', 'organization', 'session', 'account' (an identifier that names no user). */
  type: z.string().min(1).max(32),
  id: z.string().min(1).max(128),
});

export const auditEventSchema = z.strictObject({
  /**
   * The stable event id: deterministic where a replay may write the event again. org-users stores it as
   * `<producer>:<id>` (also the webhook's id), so no service can take another's ids first. Letters, digits, `_`
   * and `-` only: the trail's cursor holds it.
   */
  id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[0-9A-Za-z_-]+$/),
  /** `<subject>.<verb>`, e.g. user.created, user.login_failed, license.assigned. */
  action: z
    .string()
    .max(64)
    .regex(/^[a-z_]+\.[a-z_]+$/),
  organizationId: id,
  actor: auditActorSchema,
  target: auditTargetSchema,
  outcome: z.enum(['success', 'failure', 'refused']),
  /** Names of the fields that changed, never their values. */
  changedFields: z.array(z.string().max(64)).max(50).optional(),
  /** As the per-IP limits key it (an IPv4 address, or an IPv6 /64). */
  clientIp: z.string().max(64).optional(),
  requestId: z.string().max(128).optional(),
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
  /** A Date in the services, an ISO string on the wire. org-users refuses one too far ahead or older than retention. */
  occurredAt: z.coerce.date(),
  /** Set by org-users from the action (AUDIT_ACTIONS) when it stores the event; a producer's value is ignored. */
  webhookType: z.enum(WEBHOOK_EVENT_TYPES).optional(),
  /** The user the event is about: webhooks keep per-user order on it. */
  subjectUserId: id.optional(),
});

export type AuditEvent = z.output<typeof auditEventSchema>;
export type AuditActor = z.output<typeof auditActorSchema>;

/** Who did it and from where, as a producer passes it to the service that writes the event. */
export const auditOriginSchema = z.strictObject({
  actor: auditActorSchema,
  clientIp: z.string().max(64).optional(),
  requestId: z.string().max(128).optional(),
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
});
export type AuditOrigin = z.output<typeof auditOriginSchema>;
