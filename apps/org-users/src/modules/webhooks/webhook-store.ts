// The webhook collections; the events come from the audit log's audit_events
// (docs: AUDIT-DESIGN, "org-users collections"), in the audit contract's shape.
import { hkdfSync } from 'node:crypto';
import type { Connection, mongo } from 'mongoose';
import type { AuditEvent, WebhookEventType } from '@usergraph/audit';
import { createSecretBox, type SecretBox } from '@usergraph/service-kit';
import { AUDIT_EVENTS_COLLECTION, type AuditEventDoc } from '../audit/audit-store.js';

export const WEBHOOK_ENDPOINTS_COLLECTION = 'webhook_endpoints';
export const WEBHOOK_DELIVERIES_COLLECTION = 'webhook_deliveries';

export interface EndpointDoc {
  _id: string;
  organizationId: string;
  url: string;
  eventTypes: WebhookEventType[];
  /** Sealed (AES-256-GCM) signing secret, `whsec_...` once opened. */
  secret: string;
  /** The secret before the last rotation, still signing until `previousSecretUntil`. */
  previousSecret?: string | null;
  previousSecretUntil?: Date | null;
  /** 0 to MAX_ENDPOINTS_PER_ORGANIZATION - 1, unique per organization: the cap holds under concurrent creates. */
  slot: number;
  status: 'ENABLED' | 'DISABLED';
  disabledReason?: 'ADMIN' | 'FAILING' | null;
  createdAt: Date;
  updatedAt: Date;
  /** Audit events about this endpoint, in the write that makes the change; the audit relay moves them to audit_events. */
  auditOutbox?: AuditEvent[];
}

export interface DeliveryDoc {
  /** `${endpointId}:${eventId}`: the fan-out of one event to one endpoint happens once, however often it runs. */
  _id: string;
  endpointId: string;
  organizationId: string;
  eventId: string;
  eventType: WebhookEventType;
  /** Deliveries with the same endpoint and key go out in `occurredAt` (then eventId) order: the user the event is about. */
  orderKey: string;
  occurredAt: Date;
  /** The exact body sent (and signed) on every attempt. */
  payload: string;
  /** PARKED: pending, but its endpoint is disabled; out of the worker's due query until the endpoint is enabled. */
  status: 'PENDING' | 'PARKED' | 'DELIVERED' | 'FAILED';
  attempts: number;
  nextAttemptAt: Date;
  /** The lease (a token per attempt) on the attempt being sent, until `leaseExpiresAt`: one attempt at a time across replicas. */
  leaseHolder?: string | null;
  leaseExpiresAt?: Date | null;
  lastAttemptAt?: Date | null;
  lastResponseStatus?: number | null;
  lastError?: string | null;
  createdAt: Date;
  deliveredAt?: Date | null;
  /** Set once finished (delivered or given up): swept after WEBHOOK_DELIVERY_RETENTION_DAYS. */
  expiresAt?: Date | null;
}

export interface WebhookCollections {
  events: mongo.Collection<AuditEventDoc>;
  endpoints: mongo.Collection<EndpointDoc>;
  deliveries: mongo.Collection<DeliveryDoc>;
  secrets: SecretBox;
}

/**
 * The collections, their indexes, and the box that seals signing secrets
 * (a key derived from NATIONAL_ID_ENCRYPTION_KEY for this purpose only).
 */
export async function openWebhookCollections(conn: Connection, encryptionKeyBase64: string): Promise<WebhookCollections> {
  if (!conn.db) throw new Error('The database connection is not open');
  const db = conn.db;
  const endpoints = db.collection<EndpointDoc>(WEBHOOK_ENDPOINTS_COLLECTION);
  const deliveries = db.collection<DeliveryDoc>(WEBHOOK_DELIVERIES_COLLECTION);
  await endpoints.createIndex({ organizationId: 1, createdAt: 1 });
  await endpoints.createIndex({ organizationId: 1, slot: 1 }, { unique: true });
  await deliveries.createIndex({ status: 1, nextAttemptAt: 1 });
  await deliveries.createIndex({ endpointId: 1, orderKey: 1, status: 1, occurredAt: 1 });
  await deliveries.createIndex({ endpointId: 1, createdAt: -1 });
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(encryptionKeyBase64, 'base64'), Buffer.alloc(0), 'usergraph webhook secrets', 32));
  return {
    events: db.collection<AuditEventDoc>(AUDIT_EVENTS_COLLECTION),
    endpoints,
    deliveries,
    secrets: createSecretBox(key.toString('base64')),
  };
}
