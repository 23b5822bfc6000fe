import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { isDuplicateKeyError, type RateLimiterFactory } from '@usergraph/mongo';
import { DomainError, forbidden, type Caller } from '@usergraph/service-kit';
import { toPayloadErrors, type FieldError } from '@usergraph/validation';
import type { AccessPolicy } from '../../access-policy.js';
import { WEBHOOK_EVENT_TYPES, type AuditActor, type AuditEvent, type WebhookEventType } from '@usergraph/audit';
import type { DeliveryDoc, EndpointDoc, WebhookCollections } from './webhook-store.js';
import { resolveWebhookUrl, URL_REFUSALS, type UrlPolicy } from './url-guard.js';
import { unparkDeliveries } from './webhook-worker.js';

/** Endpoints per organization: each one multiplies every event's deliveries. */
export const MAX_ENDPOINTS_PER_ORGANIZATION = 20;
/** After a rotation, deliveries carry the old secret's signature too for this long, so receivers can switch without a gap. */
export const SECRET_ROTATION_GRACE_MS = 24 * 3_600_000;
export const MAX_DELIVERIES_LISTED = 100;
/**
 * Webhook mutations per organization, and redeliveries of one event to one
 * endpoint: each redelivery is a POST to a third party's URL and an audit
 * event, so an ADMIN (or a stolen ADMIN token) cannot turn them into a flood.
 */
export const WEBHOOK_MUTATION_LIMIT = { points: 30, windowSeconds: 60 };
export const REDELIVERY_LIMIT = { points: 3, windowSeconds: 300 };

export interface WebhookEndpointDto {
  id: string;
  url: string;
  eventTypes: string[];
  status: EndpointDoc['status'];
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookDeliveryDto {
  id: string;
  eventId: string;
  eventType: string;
  /** A parked delivery (its endpoint disabled) reads as PENDING with no next attempt. */
  status: Exclude<DeliveryDoc['status'], 'PARKED'>;
  attempts: number;
  nextAttemptAt: Date | null;
  lastAttemptAt: Date | null;
  lastResponseStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

type PathError = FieldError;

const NOT_OURS = 'does not name a webhook endpoint of your organization';

const endpointDto = (e: Omit<EndpointDoc, 'slot'>): WebhookEndpointDto => ({
  id: e._id,
  url: e.url,
  eventTypes: e.eventTypes,
  status: e.status,
  disabledReason: e.disabledReason ?? null,
  createdAt: e.createdAt,
  updatedAt: e.updatedAt,
});

const deliveryDto = (d: DeliveryDoc): WebhookDeliveryDto => ({
  id: d._id,
  eventId: d.eventId,
  eventType: d.eventType,
  status: d.status === 'PARKED' ? 'PENDING' : d.status,
  attempts: d.attempts,
  nextAttemptAt: d.status === 'PENDING' ? d.nextAttemptAt : null,
  lastAttemptAt: d.lastAttemptAt ?? null,
  lastResponseStatus: d.lastResponseStatus ?? null,
  lastError: d.lastError ?? null,
  createdAt: d.createdAt,
  deliveredAt: d.deliveredAt ?? null,
});

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** D's payload errors: path, message and "<Field> <message>". */
const payloadErrors = toPayloadErrors;

/**
 * Webhook endpoints of the caller's organization: ADMIN users only (support
 * admins included). Another organization's endpoint is answered exactly like
 * one that does not exist.
 */
export function createWebhookService(deps: {
  col: WebhookCollections;
  policy: AccessPolicy;
  urlPolicy: UrlPolicy;
  /** An endpoint write carried an audit event (its `auditOutbox`): the audit relay moves it to audit_events. */
  relayAudit: (endpointId: string) => void;
  /** Deliveries became due (a redelivery, an endpoint enabled again): the worker should look soon. */
  notify: () => void;
  limiters: RateLimiterFactory;
}) {
  const { col, policy } = deps;
  const mutationLimit = deps.limiters.limiter('webhook-mutations', WEBHOOK_MUTATION_LIMIT);
  const redeliveryLimit = deps.limiters.limiter('webhook-redelivery', REDELIVERY_LIMIT);

  /** An ADMIN of the organization, within the organization's budget of webhook mutations (RATE_LIMITED past it). */
  async function requireAdminWithinLimit(caller: Caller) {
    const who = await requireAdmin(caller);
    await mutationLimit.consume(who.organizationId, 'Too many webhook changes for this organization; retry later');
    return who;
  }

  async function requireAdmin(caller: Caller): Promise<{ organizationId: string; actor: AuditActor }> {
    const viewer = await policy.viewerOf(caller);
    if (viewer.kind !== 'user' || viewer.role !== 'admin')
      throw forbidden('Webhooks are managed by organization admins (ADMIN license) only');
    // The actor as every audit event names it (packages/audit's one helper; a support admin told apart).
    return { organizationId: viewer.organizationId, actor: (await policy.auditOrigin({ caller })).actor };
  }

  const auditEvent = (
    who: { organizationId: string; actor: AuditActor },
    action: string,
    endpointId: string,
    ctx: { requestId?: string; clientIp?: string },
    changedFields?: string[],
  ): AuditEvent => ({
    // Hex, as every event id (the trail's cursor holds it).
    id: new Types.ObjectId().toHexString(),
    action,
    organizationId: who.organizationId,
    actor: who.actor,
    target: { type: 'webhook_endpoint', id: endpointId },
    outcome: 'success',
    ...(changedFields ? { changedFields } : {}),
    ...(ctx.clientIp ? { clientIp: ctx.clientIp } : {}),
    ...(ctx.requestId ? { requestId: ctx.requestId } : {}),
    occurredAt: new Date(),
  });

  /** The endpoint, only when it belongs to the organization (an id that is not ours reads as absent). */
  const ownEndpoint = (organizationId: string, id: string) => col.endpoints.findOne({ _id: id, organizationId });

  function checkEventTypes(eventTypes: readonly string[]): PathError[] {
    if (eventTypes.length === 0) return [{ path: ['eventTypes'], message: 'must name at least one event type' }];
    const unknown = eventTypes.filter((t) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0)
      return [{ path: ['eventTypes'], message: `holds unknown event types; each must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` }];
    return [];
  }

  /**
   * The cap, atomically: each endpoint holds one of the organization's
   * MAX_ENDPOINTS_PER_ORGANIZATION slots, unique per organization (index), so
   * concurrent creates cannot pass it. False when every slot is taken.
   */
  async function insertInFreeSlot(doc: Omit<EndpointDoc, 'slot'>): Promise<boolean> {
    for (let tries = 0; tries < MAX_ENDPOINTS_PER_ORGANIZATION; tries++) {
      const used = await col.endpoints.find({ organizationId: doc.organizationId }, { projection: { slot: 1 } }).toArray();
      const taken = new Set(used.map((e) => e.slot));
      const slot = [...Array(MAX_ENDPOINTS_PER_ORGANIZATION).keys()].find((n) => !taken.has(n));
      if (slot === undefined) return false;
      try {
        await col.endpoints.insertOne({ ...doc, slot });
        return true;
      } catch (err) {
        // Another create took this slot first: look again.
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    return false;
  }

  return {
    async create(caller: Caller, args: { url: string; eventTypes: readonly string[] }, ctx: { requestId?: string; clientIp?: string }) {
      const who = await requireAdminWithinLimit(caller);
      const errors: PathError[] = [];
      const resolved = await resolveWebhookUrl(args.url.trim(), deps.urlPolicy);
      if (!resolved.ok) errors.push({ path: ['url'], message: URL_REFUSALS[resolved.refusal] });
      errors.push(...checkEventTypes(args.eventTypes));
      if (errors.length > 0 || !resolved.ok) return { errors: payloadErrors(errors), endpoint: null, secret: null };
      const now = new Date();
      const id = new Types.ObjectId().toHexString();
      const secret = newSecret();
      const doc: Omit<EndpointDoc, 'slot'> = {
        _id: id,
        organizationId: who.organizationId,
        url: resolved.target.url.toString(),
        eventTypes: [...new Set(args.eventTypes)] as WebhookEventType[],
        secret: col.secrets.encrypt(secret),
        status: 'ENABLED',
        disabledReason: null,
        createdAt: now,
        updatedAt: now,
        auditOutbox: [auditEvent(who, 'webhook.endpoint_created', id, ctx)],
      };
      if (!(await insertInFreeSlot(doc)))
        return {
          errors: payloadErrors([
            { path: ['url'], message: `cannot be added: an organization has at most ${MAX_ENDPOINTS_PER_ORGANIZATION} endpoints` },
          ]),
          endpoint: null,
          secret: null,
        };
      deps.relayAudit(id);
      return { errors: [], endpoint: endpointDto(doc), secret };
    },

    async list(caller: Caller): Promise<WebhookEndpointDto[]> {
      const { organizationId } = await requireAdmin(caller);
      const docs = await col.endpoints
        .find({ organizationId }, { projection: { secret: 0, previousSecret: 0, auditOutbox: 0 } })
        .sort({ createdAt: 1 })
        .toArray();
      return docs.map(endpointDto);
    },

    async setStatus(caller: Caller, id: string, status: 'ENABLED' | 'DISABLED', ctx: { requestId?: string; clientIp?: string }) {
      const who = await requireAdminWithinLimit(caller);
      // Enabling: the parked deliveries are pending again first (a crash after leaves them to the worker, which parks them again).
      if (status === 'ENABLED') await unparkDeliveries(col, id, who.organizationId);
      const action = status === 'ENABLED' ? 'webhook.endpoint_enabled' : 'webhook.endpoint_disabled';
      const updated = await col.endpoints.findOneAndUpdate(
        { _id: id, organizationId: who.organizationId },
        {
          $set: { status, disabledReason: status === 'ENABLED' ? null : 'ADMIN', updatedAt: new Date() },
          $push: { auditOutbox: auditEvent(who, action, id, ctx, ['status']) },
        },
        { returnDocument: 'after' },
      );
      if (!updated) return { errors: payloadErrors([{ path: ['id'], message: NOT_OURS }]), endpoint: null };
      deps.relayAudit(id);
      // Disabled: its pending deliveries leave the worker's due query (one interrupted here is parked by the worker when due).
      if (status === 'DISABLED')
        await col.deliveries.updateMany(
          { endpointId: id, organizationId: who.organizationId, status: 'PENDING' },
          { $set: { status: 'PARKED' } },
        );
      // Enabled: its unparked deliveries resume now, not at the next poll.
      else deps.notify();
      return { errors: [], endpoint: endpointDto(updated) };
    },

    async rotateSecret(caller: Caller, id: string, ctx: { requestId?: string; clientIp?: string }) {
      const who = await requireAdminWithinLimit(caller);
      const current = await ownEndpoint(who.organizationId, id);
      if (!current) return { errors: payloadErrors([{ path: ['id'], message: NOT_OURS }]), endpoint: null, secret: null };
      const secret = newSecret();
      const now = new Date();
      // Conditional on the secret read: two rotations at once cannot leave the grace secret unknown to both callers.
      const updated = await col.endpoints.findOneAndUpdate(
        { _id: id, organizationId: who.organizationId, secret: current.secret },
        {
          $set: {
            secret: col.secrets.encrypt(secret),
            previousSecret: current.secret,
            previousSecretUntil: new Date(now.getTime() + SECRET_ROTATION_GRACE_MS),
            updatedAt: now,
          },
          $push: { auditOutbox: auditEvent(who, 'webhook.secret_rotated', id, ctx, ['secret']) },
        },
        { returnDocument: 'after' },
      );
      if (!updated)
        throw new DomainError('CONFLICT', 'The endpoint secret is being rotated concurrently; retry', [], { reason: 'CONCURRENT_CHANGE' });
      deps.relayAudit(id);
      return { errors: [], endpoint: endpointDto(updated), secret };
    },

    async deliveries(caller: Caller, endpointId: string, first: number): Promise<WebhookDeliveryDto[]> {
      const { organizationId } = await requireAdmin(caller);
      if (!Number.isInteger(first) || first < 1 || first > MAX_DELIVERIES_LISTED)
        throw new DomainError('BAD_USER_INPUT', `Invalid input: first must be from 1 to ${MAX_DELIVERIES_LISTED}`, [
          { path: ['first'], message: `must be from 1 to ${MAX_DELIVERIES_LISTED}` },
        ]);
      if (!(await ownEndpoint(organizationId, endpointId))) throw new DomainError('NOT_FOUND', `endpointId ${NOT_OURS}`);
      const docs = await col.deliveries
        .find({ endpointId, organizationId }, { projection: { payload: 0 } })
        .sort({ createdAt: -1, _id: -1 })
        .limit(first)
        .toArray();
      return docs.map(deliveryDto);
    },

    /** Sends one event again from a fresh schedule, same event id; the delivery keeps its place in the user's order. */
    async redeliver(caller: Caller, args: { endpointId: string; eventId: string }, ctx: { requestId?: string; clientIp?: string }) {
      const who = await requireAdminWithinLimit(caller);
      const endpoint = await ownEndpoint(who.organizationId, args.endpointId);
      if (!endpoint) return { errors: payloadErrors([{ path: ['endpointId'], message: NOT_OURS }]), delivery: null };
      const deliveryId = `${endpoint._id}:${args.eventId}`;
      if (!(await col.deliveries.findOne({ _id: deliveryId, organizationId: who.organizationId }, { projection: { _id: 1 } })))
        return { errors: payloadErrors([{ path: ['eventId'], message: 'names no event delivered to this endpoint' }]), delivery: null };
      await redeliveryLimit.consume(deliveryId, 'This event was redelivered to this endpoint too often; retry later');
      // The request is recorded first (in the endpoint's outbox), so it is audited even if the reset below is interrupted.
      await col.endpoints.updateOne(
        { _id: endpoint._id, organizationId: who.organizationId },
        { $push: { auditOutbox: auditEvent(who, 'webhook.redelivery_requested', endpoint._id, ctx) } },
      );
      deps.relayAudit(endpoint._id);
      const updated = await col.deliveries.findOneAndUpdate(
        { _id: deliveryId, organizationId: who.organizationId },
        {
          // The lease is cleared: an attempt in flight now writes its outcome to nothing, so this request is not overwritten.
          $set: {
            status: endpoint.status === 'ENABLED' ? 'PENDING' : 'PARKED',
            attempts: 0,
            nextAttemptAt: new Date(),
            expiresAt: null,
            leaseHolder: null,
            leaseExpiresAt: null,
          },
        },
        { returnDocument: 'after' },
      );
      if (!updated)
        return { errors: payloadErrors([{ path: ['eventId'], message: 'names no event delivered to this endpoint' }]), delivery: null };
      deps.notify();
      return { errors: [], delivery: deliveryDto(updated) };
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
