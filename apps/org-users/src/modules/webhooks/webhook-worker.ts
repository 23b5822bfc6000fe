// The dispatcher and the delivery worker. Both run in every org-users
// instance on one timer; everything they know is in the database, so a crash
// or a restart loses nothing, and two replicas share the work safely:
// - dispatch: audit_events with fanout 'pending' become one delivery per
//   matching endpoint (`_id` = endpointId:eventId, so a re-run inserts
//   nothing twice), then fanout is set to 'done';
// - deliver: a due delivery is taken with a conditional update (a lease), sent,
//   and its outcome written only while the lease is still ours. A delivery
//   waits while an earlier one for the same endpoint and user is pending.
// At least once: a crash after the send and before the write sends it again,
// with the same event id (`webhook-id`).
import { randomUUID } from 'node:crypto';
import { isDuplicateKeyError } from '@usergraph/mongo';
import type { Logger } from '@usergraph/service-kit';
import { deterministicEventId, type AuditActor, type AuditEvent, type WebhookEventType } from '@usergraph/audit';
import type { AuditEventDoc } from '../audit/audit-store.js';
import type { DeliveryDoc, EndpointDoc, WebhookCollections } from './webhook-store.js';
import { resolveWebhookUrl, type UrlPolicy } from './url-guard.js';
import { MAX_PAYLOAD_BYTES, sendWebhook, signedHeaders, type SendOutcome } from './webhook-sender.js';

/** What the worker counts; the metrics endpoint reads them (see WebhookWorker.counters and `onCount`). */
export const WEBHOOK_COUNTERS = ['webhook_deliveries_succeeded', 'webhook_delivery_attempts_failed', 'webhook_endpoints_disabled'] as const;
export type WebhookCounter = (typeof WEBHOOK_COUNTERS)[number];

export interface WebhookWorkerOptions {
  /** Seconds before each retry (before jitter); one more failure after the last gives up. */
  retryScheduleSeconds: readonly number[];
  timeoutMs: number;
  pollIntervalMs: number;
  retentionDays: number;
  urlPolicy: UrlPolicy;
  /** Called on every count, for a metrics registry (Prometheus counters) to mirror. */
  onCount?: (counter: WebhookCounter) => void;
  /** An endpoint write carried an audit event (its `auditOutbox`): the audit relay moves it to audit_events. */
  relayAudit: (endpointId: string) => void;
}

/** Events fanned out and deliveries attempted per pass, at most. */
const DISPATCH_BATCH = 100;
const DELIVERY_BATCH = 50;
/** Each wait of the schedule is stretched by a random 0-20 %: failed endpoints' retries do not arrive together. */
const JITTER = 0.2;

export interface WebhookWorker {
  /** Runs a pass soon (after a write that recorded events), besides the timer. */
  notify(): void;
  /** One full pass now (dispatch, deliveries); true when more work waits. For tests and reconcile. */
  runOnce(): Promise<boolean>;
  counters(): Record<WebhookCounter, number>;
  stop(): Promise<void>;
}

/** Who did it, in a payload: an anonymous caller (B's self-registration) has no id to name. */
const payloadActor = (actor: AuditActor): { type: AuditActor['type']; id?: string } =>
  actor.type === 'anonymous' ? { type: 'anonymous' } : { type: actor.type, id: actor.id };

/** The Standard Webhooks body: `type`, `timestamp`, `data`. Only ids, names of changed fields and outcomes: never a personal value. */
export function webhookPayload(event: AuditEventDoc): string {
  return JSON.stringify({
    type: event.webhookType,
    timestamp: event.occurredAt.toISOString(),
    data: {
      eventId: event._id,
      action: event.action,
      organizationId: event.organizationId,
      actor: payloadActor(event.actor),
      target: event.target,
      ...(event.subjectUserId ? { userId: event.subjectUserId } : {}),
      outcome: event.outcome,
      ...(event.changedFields ? { changedFields: event.changedFields } : {}),
      ...(event.requestId ? { requestId: event.requestId } : {}),
    },
  });
}

/** A bulk insert's failure made only of duplicate keys (each one already there). */
function onlyDuplicates(err: unknown): boolean {
  const writeErrors = (err as { writeErrors?: unknown } | null)?.writeErrors;
  if (!Array.isArray(writeErrors)) return isDuplicateKeyError(err);
  return writeErrors.length > 0 && writeErrors.every((w) => (w as { code?: unknown } | null)?.code === 11000);
}

export function retryDelayMs(schedule: readonly number[], failedAttempts: number, random: () => number = Math.random): number | undefined {
  const base = schedule[failedAttempts - 1];
  return base === undefined ? undefined : Math.round(base * 1000 * (1 + JITTER * random()));
}

export function createWebhookWorker(col: WebhookCollections, opts: WebhookWorkerOptions, logger: Logger): WebhookWorker {
  const holder = randomUUID();
  // Longer than any attempt (the send is cut at timeoutMs) with room for the database writes around it.
  const leaseMs = opts.timeoutMs * 2 + 2_000;
  const counts = Object.fromEntries(WEBHOOK_COUNTERS.map((c) => [c, 0])) as Record<WebhookCounter, number>;
  const count = (c: WebhookCounter) => {
    counts[c]++;
    opts.onCount?.(c);
  };

  /** Fans out one batch of pending events; true when the batch was full (more may wait). */
  async function dispatch(): Promise<boolean> {
    const events = await col.events.find({ fanout: 'pending' }).sort({ occurredAt: 1, _id: 1 }).limit(DISPATCH_BATCH).toArray();
    if (events.length === 0) return false;
    const organizationIds = [...new Set(events.map((e) => e.organizationId))];
    const endpoints = await col.endpoints.find({ organizationId: { $in: organizationIds }, status: 'ENABLED' }).toArray();
    const now = new Date();
    const deliveries: DeliveryDoc[] = [];
    for (const event of events) {
      const type = event.webhookType;
      if (!type) continue;
      const targets = endpoints.filter(
        (e) => e.organizationId === event.organizationId && e.eventTypes.includes(type) && e.createdAt <= event.occurredAt,
      );
      if (targets.length === 0) continue;
      const payload = webhookPayload(event);
      if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
        logger.error({ eventId: event._id, bytes: Buffer.byteLength(payload) }, 'webhooks: event payload too large; not delivered');
        continue;
      }
      for (const endpoint of targets) deliveries.push(deliveryOf(endpoint, event, type, payload, now));
    }
    if (deliveries.length > 0) {
      try {
        await col.deliveries.insertMany(deliveries, { ordered: false });
      } catch (err) {
        // Those an earlier pass (here or on another replica) made already; any other failure is thrown.
        if (!onlyDuplicates(err)) throw err;
      }
    }
    await col.events.updateMany({ _id: { $in: events.map((e) => e._id) }, fanout: 'pending' }, { $set: { fanout: 'done' } });
    return events.length === DISPATCH_BATCH;
  }

  const deliveryOf = (endpoint: EndpointDoc, event: AuditEventDoc, type: WebhookEventType, payload: string, now: Date): DeliveryDoc => ({
    _id: `${endpoint._id}:${event._id}`,
    endpointId: endpoint._id,
    organizationId: endpoint.organizationId,
    eventId: event._id,
    eventType: type,
    orderKey: event.subjectUserId ?? `${event.target.type}:${event.target.id}`,
    occurredAt: event.occurredAt,
    payload,
    status: 'PENDING',
    attempts: 0,
    nextAttemptAt: now,
    createdAt: now,
  });

  /** Attempts one batch of due deliveries; true when the batch was full. */
  async function deliverDue(): Promise<boolean> {
    const now = new Date();
    const disabled = (await col.endpoints.find({ status: 'DISABLED' }, { projection: { _id: 1 } }).toArray()).map((e) => e._id);
    const due = await col.deliveries
      .find({
        status: 'PENDING',
        nextAttemptAt: { $lte: now },
        endpointId: { $nin: disabled },
        $or: [{ leaseExpiresAt: null }, { leaseExpiresAt: { $lte: now } }],
      })
      .sort({ occurredAt: 1, _id: 1 })
      .limit(DELIVERY_BATCH)
      .toArray();
    if (due.length === 0) return false;
    // Order per user: the earliest pending delivery of each endpoint and user in this batch, in one read.
    const heads = new Map<string, Pick<DeliveryDoc, 'occurredAt' | 'eventId' | 'nextAttemptAt'>>();
    const pending = await col.deliveries
      .find(
        {
          status: 'PENDING',
          endpointId: { $in: [...new Set(due.map((d) => d.endpointId))] },
          orderKey: { $in: [...new Set(due.map((d) => d.orderKey))] },
        },
        { projection: { endpointId: 1, orderKey: 1, occurredAt: 1, eventId: 1, nextAttemptAt: 1 } },
      )
      .toArray();
    for (const p of pending) {
      const head = heads.get(orderOf(p));
      if (!head || isBefore(p, head)) heads.set(orderOf(p), p);
    }
    // Taken one by one (a conditional write each), then sent together.
    const taken: DeliveryDoc[] = [];
    for (const d of due) {
      const head = heads.get(orderOf(d));
      if (head && isBefore(head, d)) await holdBehind(d, head.nextAttemptAt, now);
      else if (await take(d, now)) taken.push(d);
    }
    await Promise.all(
      taken.map((d) => attempt(d).catch((err: unknown) => logger.error({ err, deliveryId: d._id }, 'webhooks: attempt failed'))),
    );
    return due.length === DELIVERY_BATCH;
  }

  const orderOf = (d: Pick<DeliveryDoc, 'endpointId' | 'orderKey'>) => `${d.endpointId}\n${d.orderKey}`;
  const isBefore = (a: Pick<DeliveryDoc, 'occurredAt' | 'eventId'>, b: Pick<DeliveryDoc, 'occurredAt' | 'eventId'>) =>
    a.occurredAt < b.occurredAt || (a.occurredAt.getTime() === b.occurredAt.getTime() && a.eventId < b.eventId);

  /**
   * An earlier pending delivery for the same endpoint and user holds this one
   * back: it waits until that one's next attempt (so a long backlog of one
   * user never fills the batch that other users' deliveries need).
   */
  async function holdBehind(d: DeliveryDoc, earlierNextAttempt: Date, now: Date): Promise<void> {
    const until = new Date(Math.max(earlierNextAttempt.getTime(), now.getTime() + opts.pollIntervalMs));
    await col.deliveries.updateOne({ _id: d._id, status: 'PENDING', leaseHolder: null }, { $set: { nextAttemptAt: until } });
  }

  /** The lease on this attempt: one conditional write, which only one worker of all replicas wins. */
  async function take(d: DeliveryDoc, now: Date): Promise<boolean> {
    const res = await col.deliveries.updateOne(
      { _id: d._id, status: 'PENDING', $or: [{ leaseExpiresAt: null }, { leaseExpiresAt: { $lte: now } }] },
      { $set: { leaseHolder: holder, leaseExpiresAt: new Date(now.getTime() + leaseMs) } },
    );
    return res.modifiedCount === 1;
  }

  /** Sends a delivery this worker holds the lease of, and writes the outcome while the lease is still its own. */
  async function attempt(d: DeliveryDoc): Promise<void> {
    const endpoint = await col.endpoints.findOne({ _id: d.endpointId });
    if (endpoint?.status !== 'ENABLED') {
      await col.deliveries.updateOne({ _id: d._id, leaseHolder: holder }, { $set: { leaseHolder: null, leaseExpiresAt: null } });
      return;
    }
    const outcome = await send(endpoint, d);
    const at = new Date();
    if (outcome.ok) {
      count('webhook_deliveries_succeeded');
      await col.deliveries.updateOne(
        { _id: d._id, leaseHolder: holder },
        {
          $set: {
            status: 'DELIVERED',
            deliveredAt: at,
            lastAttemptAt: at,
            lastResponseStatus: outcome.status,
            lastError: null,
            leaseHolder: null,
            leaseExpiresAt: null,
            expiresAt: new Date(at.getTime() + opts.retentionDays * 86_400_000),
          },
          $inc: { attempts: 1 },
        },
      );
      return;
    }
    count('webhook_delivery_attempts_failed');
    const failed = d.attempts + 1;
    const last = { lastAttemptAt: at, lastResponseStatus: 'status' in outcome ? outcome.status : null, lastError: outcome.error };
    const delay = retryDelayMs(opts.retryScheduleSeconds, failed);
    if (delay !== undefined) {
      await col.deliveries.updateOne(
        { _id: d._id, leaseHolder: holder },
        { $set: { ...last, attempts: failed, nextAttemptAt: new Date(at.getTime() + delay), leaseHolder: null, leaseExpiresAt: null } },
      );
      return;
    }
    // The whole schedule failed: the endpoint is disabled first (with its audit event in the same write), then the delivery given up.
    await disableFailingEndpoint(endpoint, d);
    await col.deliveries.updateOne(
      { _id: d._id, leaseHolder: holder },
      {
        $set: {
          ...last,
          attempts: failed,
          status: 'FAILED',
          leaseHolder: null,
          leaseExpiresAt: null,
          expiresAt: new Date(at.getTime() + opts.retentionDays * 86_400_000),
        },
      },
    );
  }

  async function send(endpoint: EndpointDoc, d: DeliveryDoc): Promise<SendOutcome | { ok: false; error: 'ADDRESS_REFUSED' }> {
    // Checked again at every attempt: the name may resolve elsewhere since the endpoint was created.
    const resolved = await resolveWebhookUrl(endpoint.url, opts.urlPolicy);
    if (!resolved.ok) {
      logger.warn({ endpointId: endpoint._id, deliveryId: d._id, refusal: resolved.refusal }, 'webhooks: endpoint URL refused at delivery');
      return { ok: false, error: 'ADDRESS_REFUSED' };
    }
    const at = new Date();
    const secrets = [col.secrets.decrypt(endpoint.secret)];
    if (endpoint.previousSecret && endpoint.previousSecretUntil && endpoint.previousSecretUntil > at)
      secrets.push(col.secrets.decrypt(endpoint.previousSecret));
    const outcome = await sendWebhook(resolved.target, signedHeaders(secrets, d.eventId, at, d.payload), d.payload, opts.timeoutMs);
    logger.info(
      {
        endpointId: endpoint._id,
        deliveryId: d._id,
        attempt: d.attempts + 1,
        ok: outcome.ok,
        ...('status' in outcome ? { status: outcome.status } : {}),
      },
      'webhooks: delivery attempt',
    );
    return outcome;
  }

  async function disableFailingEndpoint(endpoint: EndpointDoc, d: DeliveryDoc): Promise<void> {
    const at = new Date();
    const event: AuditEvent = {
      // One per given-up delivery: a re-run after a crash writes the same id (hex, as every event id: the trail's cursor holds it).
      id: deterministicEventId('webhook.endpoint_disabled', d._id),
      action: 'webhook.endpoint_disabled',
      organizationId: endpoint.organizationId,
      actor: { type: 'system', id: 'webhook-delivery' },
      target: { type: 'webhook_endpoint', id: endpoint._id },
      outcome: 'success',
      changedFields: ['status'],
      occurredAt: at,
    };
    const res = await col.endpoints.updateOne(
      { _id: endpoint._id, status: 'ENABLED' },
      { $set: { status: 'DISABLED', disabledReason: 'FAILING', updatedAt: at }, $push: { auditOutbox: event } },
    );
    if (res.modifiedCount === 1) {
      opts.relayAudit(endpoint._id);
      count('webhook_endpoints_disabled');
      logger.warn({ endpointId: endpoint._id, deliveryId: d._id }, 'webhooks: endpoint disabled after its retry schedule failed');
    }
  }

  /** One pass; true when a batch was full, so the next pass should follow at once. */
  async function runOnce(): Promise<boolean> {
    const moreEvents = await dispatch();
    const moreDue = await deliverDue();
    return moreEvents || moreDue;
  }

  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let again = false;
  function schedule(delayMs: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, delayMs);
    timer.unref();
  }
  function tick(): void {
    if (running) {
      again = true;
      return;
    }
    running = runOnce()
      .then(
        (more) => {
          again ||= more;
        },
        (err: unknown) => logger.error({ err }, 'webhooks: pass failed; retried at the next one'),
      )
      .finally(() => {
        running = undefined;
        schedule(again ? 0 : opts.pollIntervalMs);
        again = false;
      });
  }
  schedule(0);

  return {
    notify() {
      if (running) again = true;
      else schedule(0);
    },
    runOnce,
    counters: () => ({ ...counts }),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
