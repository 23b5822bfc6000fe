import type { ServingService } from './contract.js';
import type { AuditEvent, WebhookEventType } from './audit.js';

type AuditOutcome = AuditEvent['outcome'];

/** The services that write audit events (org-users' own go to its log through a local sink). */
export type AuditProducer = ServingService;

/**
 * Every audit action, under the one service that may record it, with the
 * webhook event type it maps to (null: none). org-users' `recordAuditEvents`
 * refuses any other action from a service, and derives `webhookType` from here
 * (never from the caller): a service that may record logins cannot record a
 * license change, nor have a forged event signed and sent to customers'
 * endpoints. Adding an action is one line here.
 */
export const AUDIT_ACTIONS = {
  identity: {
    'user.login': null,
    'user.login_failed': null,
    'user.locked_out': 'user.locked_out',
    'user.password_changed': null,
    'user.password_reset': null,
    'session.revoked': 'session.revoked',
    'application.created': 'application.changed',
    'application.status_changed': 'application.changed',
    'application.permissions_changed': 'application.changed',
    'application.secret_rotated': 'application.changed',
  },
  licensing: {
    'user.licenses_changed': 'user.licenses_changed',
    'user.groups_changed': 'user.groups_changed',
    'license.seat_cap_changed': null,
    'group.created': null,
    'group.renamed': null,
    'group.deleted': null,
  },
  'org-users': {
    'user.created': 'user.created',
    'user.updated': 'user.updated',
    'user.closed': 'user.updated',
    'user.deleted': 'user.deleted',
    'user.activated': 'user.updated',
    'user.suspended': 'user.updated',
    'user.status_changed': 'user.updated',
    'user.email_verified': 'user.updated',
    // The organization's own sync job marks it: a user.updated back to it would echo.
    'user.synced': null,
    'organization.created': null,
    'connection.recorded': null,
    'tradeline.recorded': null,
    'webhook.endpoint_created': null,
    'webhook.endpoint_enabled': null,
    'webhook.endpoint_disabled': null,
    'webhook.secret_rotated': null,
    'webhook.redelivery_requested': null,
  },
} as const satisfies Record<AuditProducer, Record<string, WebhookEventType | null>>;

/** The actions one service may record. */
export type AuditActionOf<S extends AuditProducer> = keyof (typeof AUDIT_ACTIONS)[S] & string;
/** Every action some service may record: what a producer's events are typed with. */
export type AuditAction = { [S in AuditProducer]: AuditActionOf<S> }[AuditProducer];

const own = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);
const isProducer = (service: string): service is AuditProducer => own(AUDIT_ACTIONS, service);

/**
 * Actions a service may record only as refused: another service makes the change, but the refusal
 * happens here (identity refuses C's registerUser before org-users creates anyone).
 */
const REFUSALS_ONLY: Partial<Record<AuditProducer, ReadonlySet<string>>> = { identity: new Set(['user.created']) };

/** Whether `service` may record `action` with this outcome (its row in AUDIT_ACTIONS, or a refusal it makes). */
export function mayRecordAuditAction(service: string, action: string, outcome: AuditOutcome = 'success'): boolean {
  if (!isProducer(service)) return false;
  return own(AUDIT_ACTIONS[service], action) || (outcome === 'refused' && (REFUSALS_ONLY[service]?.has(action) ?? false));
}

/** Actions whose event is itself the change although the attempt that caused it was refused: a lockout. */
const ANNOUNCED_REFUSALS: ReadonlySet<string> = new Set(['user.locked_out']);

/**
 * The webhook event type an event of `service` maps to, if any: the one mapping, for every producer's events.
 * A webhook announces a change: a refused or failed action changed nothing and is none (a lockout is the
 * change it announces).
 */
export function webhookTypeOf(service: string, action: string, outcome: AuditOutcome): WebhookEventType | undefined {
  if (!isProducer(service) || !own(AUDIT_ACTIONS[service], action)) return undefined;
  if (outcome !== 'success' && !ANNOUNCED_REFUSALS.has(action)) return undefined;
  return (AUDIT_ACTIONS[service] as Record<string, WebhookEventType | null>)[action] ?? undefined;
}

/** Why org-users' log refused one event (it is never stored; the producer's relay drops it with a log line). */
export const AUDIT_REFUSAL_REASONS = [
  /** The action is not in the calling service's row of AUDIT_ACTIONS. */
  'AUDIT_ACTION_NOT_ALLOWED',
  /** occurredAt is older than AUDIT_RETENTION_DAYS: the retention sweep would delete it at once. */
  'AUDIT_EVENT_EXPIRED',
] as const;
export type AuditRefusalReason = (typeof AUDIT_REFUSAL_REASONS)[number];
