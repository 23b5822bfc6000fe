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
import { resolveWebhookUrl, type HostResolver, type UrlPolicy } from './url-guard.js';
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
  /** The host lookup (default: the system resolver); tests pass a slow one. */
  resolveHost?: HostResolver;
  /** An endpoint write carried an audit event (its `auditOutbox`): the audit relay moves it to audit_events. */
  relayAudit: (endpointId: string) => void;
}

/** Events fanned out per pass, at most. */
const DISPATCH_BATCH = 100;
/** Attempts running at once in one worker, and per endpoint: a hanging receiver holds only its own places. */
const MAX_IN_FLIGHT = 50;
export const PER_ENDPOINT_IN_FLIGHT = 2;
/** Due deliveries read per pass, to choose fairly among. */
const DUE_BATCH = 200;
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

/** Takes one from each list in turn until all are empty. */
function roundRobin<T>(lists: T[][]): T[] {
  const out: T[] = [];
  const total = lists.reduce((n, l) => n + l.length, 0);
  for (let i = 0; out.length < total; i++) for (const l of lists) if (i < l.length) out.push(l[i]!);
  return out;
}

/** A re-enabled endpoint's parked deliveries are pending again, due now. */
export async function unparkDeliveries(col: WebhookCollections, endpointId: string, organizationId?: string): Promise<void> {
  await col.deliveries.updateMany(
    { endpointId, status: 'PARKED', ...(organizationId ? { organizationId } : {}) },
    { $set: { status: 'PENDING', nextAttemptAt: new Date() } },
  );
}

export function createWebhookWorker(col: WebhookCollections, opts: WebhookWorkerOptions, logger: Logger): WebhookWorker {
  const holder = randomUUID();
  // Longer than any attempt (lookup and send are cut at timeoutMs together) with room for the database writes around it.
  const leaseMs = opts.timeoutMs * 2 + 2_000;
  /** Attempts running here: per endpoint, in all, and their promises (awaited by runOnce and stop). */
  const inFlight = new Map<string, number>();
  let inFlightTotal = 0;
  const attempts = new Set<Promise<void>>();
  let leases = 0;
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

  /**
   * Starts attempts on due deliveries, up to the free places of the pool;
   * true when more may be due now. Fair: organizations take turns, and an
   * endpoint has at most PER_ENDPOINT_IN_FLIGHT attempts running here (those
   * at the cap are left out of the query), so a slow or hanging receiver holds
   * only its own places. Attempts run on after the pass; each one that ends
   * asks for the next pass, so the pool stays full without waiting for a batch.
   */
  async function deliverDue(): Promise<boolean> {
    const free = MAX_IN_FLIGHT - inFlightTotal;
    if (free <= 0) return false;
    const now = new Date();
    const saturated = [...inFlight].filter(([, n]) => n >= PER_ENDPOINT_IN_FLIGHT).map(([id]) => id);
    // A taken delivery's nextAttemptAt is its lease's end, so this reads only what is free to take, in due order ({status, nextAttemptAt} index).
    const due = await col.deliveries
      .find({ status: 'PENDING', nextAttemptAt: { $lte: now }, ...(saturated.length > 0 ? { endpointId: { $nin: saturated } } : {}) })
      .sort({ nextAttemptAt: 1 })
      .limit(DUE_BATCH)
      .toArray();
    if (due.length === 0) return false;
    // Order per user: the earliest pending delivery of each endpoint and user in this batch, in one read.
    const heads = new Map<string, Pick<DeliveryDoc, 'occurredAt' | 'eventId' | 'nextAttemptAt' | 'leaseHolder'>>();
    const pending = await col.deliveries
      .find(
        {
          status: 'PENDING',
          endpointId: { $in: [...new Set(due.map((d) => d.endpointId))] },
          orderKey: { $in: [...new Set(due.map((d) => d.orderKey))] },
        },
        { projection: { endpointId: 1, orderKey: 1, occurredAt: 1, eventId: 1, nextAttemptAt: 1, leaseHolder: 1 } },
      )
      .toArray();
    for (const p of pending) {
      const head = heads.get(orderOf(p));
      if (!head || isBefore(p, head)) heads.set(orderOf(p), p);
    }
    let started = 0;
    let skipped = false;
    for (const d of fairOrder(due)) {
      if (started >= free) break;
      if ((inFlight.get(d.endpointId) ?? 0) >= PER_ENDPOINT_IN_FLIGHT) {
        skipped = true;
        continue;
      }
      const head = heads.get(orderOf(d));
      if (head && isBefore(head, d)) {
        await holdBehind(d, head, now);
        continue;
      }
      const lease = await take(d);
      if (!lease) continue;
      started++;
      start(d, lease);
    }
    // A full read, or endpoints that hit their cap within it: others may be due behind them.
    return due.length === DUE_BATCH || skipped;
  }

  /** Organizations take turns (then their endpoints), each keeping its own due order. */
  function fairOrder(due: DeliveryDoc[]): DeliveryDoc[] {
    const byOrganization = new Map<string, DeliveryDoc[][]>();
    const byEndpoint = new Map<string, DeliveryDoc[]>();
    for (const d of due) {
      let queue = byEndpoint.get(d.endpointId);
      if (!queue) {
        queue = [];
        byEndpoint.set(d.endpointId, queue);
        const endpoints = byOrganization.get(d.organizationId) ?? [];
        endpoints.push(queue);
        byOrganization.set(d.organizationId, endpoints);
      }
      queue.push(d);
    }
    // Round robin over organizations, each one round robin over its endpoints.
    const perOrganization = [...byOrganization.values()].map((queues) => roundRobin(queues));
    return roundRobin(perOrganization);
  }

  function start(d: DeliveryDoc, lease: string): void {
    inFlight.set(d.endpointId, (inFlight.get(d.endpointId) ?? 0) + 1);
    inFlightTotal++;
    const attemptDone = attempt(d, lease)
      .catch((err: unknown) => logger.error({ err, deliveryId: d._id }, 'webhooks: attempt failed; retried when its lease ends'))
      .finally(() => {
        const n = (inFlight.get(d.endpointId) ?? 1) - 1;
        if (n <= 0) inFlight.delete(d.endpointId);
        else inFlight.set(d.endpointId, n);
        inFlightTotal--;
        attempts.delete(attemptDone);
        wake();
      });
    attempts.add(attemptDone);
  }

  const orderOf = (d: Pick<DeliveryDoc, 'endpointId' | 'orderKey'>) => `${d.endpointId}\n${d.orderKey}`;
  const isBefore = (a: Pick<DeliveryDoc, 'occurredAt' | 'eventId'>, b: Pick<DeliveryDoc, 'occurredAt' | 'eventId'>) =>
    a.occurredAt < b.occurredAt || (a.occurredAt.getTime() === b.occurredAt.getTime() && a.eventId < b.eventId);

  /**
   * An earlier pending delivery for the same endpoint and user holds this one
   * back: it waits until that one's next attempt, or one poll while that one
   * is being sent (so a long backlog of one user never fills the pool that
   * other users' deliveries need).
   */
  async function holdBehind(d: DeliveryDoc, head: Pick<DeliveryDoc, 'nextAttemptAt' | 'leaseHolder'>, now: Date): Promise<void> {
    const soon = now.getTime() + opts.pollIntervalMs;
    const until = new Date(head.leaseHolder ? soon : Math.max(head.nextAttemptAt.getTime(), soon));
    // Only while untouched since read (not taken, redelivered or parked meanwhile).
    await col.deliveries.updateOne({ _id: d._id, status: 'PENDING', nextAttemptAt: d.nextAttemptAt }, { $set: { nextAttemptAt: until } });
  }

  /**
   * The lease on this attempt: one conditional write, which only one worker of
   * all replicas wins. It counts from now (when taken) and moves nextAttemptAt
   * to its end, so a crashed attempt is due again then. The lease is a fresh
   * token: a redelivery clears it, and the outcome of the attempt it
   * interrupted then matches nothing.
   */
  async function take(d: DeliveryDoc): Promise<string | undefined> {
    const now = new Date();
    const lease = `${holder}:${++leases}`;
    const expires = new Date(now.getTime() + leaseMs);
    const res = await col.deliveries.updateOne(
      { _id: d._id, status: 'PENDING', nextAttemptAt: { $lte: now } },
      { $set: { leaseHolder: lease, leaseExpiresAt: expires, nextAttemptAt: expires } },
    );
    return res.modifiedCount === 1 ? lease : undefined;
  }

  /** Sends a delivery this worker holds the lease of, and writes the outcome while the lease is still its own. */
  async function attempt(d: DeliveryDoc, lease: string): Promise<void> {
    const endpoint = await col.endpoints.findOne({ _id: d.endpointId });
    if (endpoint?.status !== 'ENABLED') {
      await col.deliveries.updateOne(
        { _id: d._id, leaseHolder: lease },
        { $set: { status: 'PARKED', leaseHolder: null, leaseExpiresAt: null } },
      );
      await parkDeliveries(d.endpointId);
      return;
    }
    const outcome = await send(endpoint, d);
    const at = new Date();
    if (outcome.ok) {
      count('webhook_deliveries_succeeded');
      await col.deliveries.updateOne(
        { _id: d._id, leaseHolder: lease },
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
      const retryAt = new Date(at.getTime() + delay);
      const res = await col.deliveries.updateOne(
        { _id: d._id, leaseHolder: lease },
        { $set: { ...last, attempts: failed, nextAttemptAt: retryAt, leaseHolder: null, leaseExpiresAt: null } },
      );
      // The endpoint's whole queue waits as long: a failing receiver is not tried again for each of its deliveries.
      if (res.modifiedCount === 1)
        await col.deliveries.updateMany(
          { endpointId: d.endpointId, status: 'PENDING', leaseHolder: null, nextAttemptAt: { $lt: retryAt } },
          { $set: { nextAttemptAt: retryAt } },
        );
      return;
    }
    // The whole schedule failed: the endpoint is disabled first (with its audit event in the same write), then the delivery given up.
    await disableFailingEndpoint(endpoint, d);
    await col.deliveries.updateOne(
      { _id: d._id, leaseHolder: lease },
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
    await parkDeliveries(d.endpointId);
  }

  /**
   * A disabled endpoint's pending deliveries are parked: out of the due
   * query, so they cost the worker nothing; enabling the endpoint makes them
   * pending again (webhook-service). Checked again after: an enable in between
   * un-parks them here.
   */
  async function parkDeliveries(endpointId: string): Promise<void> {
    await col.deliveries.updateMany({ endpointId, status: 'PENDING', leaseHolder: null }, { $set: { status: 'PARKED' } });
    const endpoint = await col.endpoints.findOne({ _id: endpointId }, { projection: { status: 1 } });
    if (endpoint?.status === 'ENABLED') await unparkDeliveries(col, endpointId);
  }

  async function send(endpoint: EndpointDoc, d: DeliveryDoc): Promise<SendOutcome | { ok: false; error: 'ADDRESS_REFUSED' }> {
    // One deadline for the lookup and the send: a slow resolver cannot outlast the lease.
    const deadline = Date.now() + opts.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'TIMEOUT'>((resolve) => {
      timer = setTimeout(() => resolve('TIMEOUT'), opts.timeoutMs);
    });
    // Checked again at every attempt: the name may resolve elsewhere since the endpoint was created.
    const resolved = await Promise.race([resolveWebhookUrl(endpoint.url, opts.urlPolicy, opts.resolveHost), timedOut]).finally(() =>
      clearTimeout(timer),
    );
    if (resolved === 'TIMEOUT') {
      logger.warn({ endpointId: endpoint._id, deliveryId: d._id }, 'webhooks: endpoint host lookup timed out');
      return { ok: false, error: 'TIMEOUT' };
    }
    if (!resolved.ok) {
      logger.warn({ endpointId: endpoint._id, deliveryId: d._id, refusal: resolved.refusal }, 'webhooks: endpoint URL refused at delivery');
      return { ok: false, error: 'ADDRESS_REFUSED' };
    }
    const at = new Date();
    const secrets = [col.secrets.decrypt(endpoint.secret)];
    if (endpoint.previousSecret && endpoint.previousSecretUntil && endpoint.previousSecretUntil > at)
      secrets.push(col.secrets.decrypt(endpoint.previousSecret));
    const remainingMs = Math.max(1, deadline - Date.now());
    const outcome = await sendWebhook(resolved.target, signedHeaders(secrets, d.eventId, at, d.payload), d.payload, remainingMs);
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
      // Only the write that disables the endpoint carries it. Its time is in the id: a delivery redelivered and given up
      // again (after a re-enable) disables it again, another event (hex, as every event id: the trail's cursor holds it).
      id: deterministicEventId('webhook.endpoint_disabled', d._id, at.toISOString()),
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

  /** One pass; true when a batch was full, so the next pass should follow at once. Attempts it starts run on. */
  async function pass(): Promise<boolean> {
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
    running = pass()
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
  function wake(): void {
    if (running) again = true;
    else schedule(0);
  }
  schedule(0);

  return {
    notify: wake,
    async runOnce() {
      const more = await pass();
      await Promise.all([...attempts]);
      return more;
    },
    counters: () => ({ ...counts }),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await Promise.all([...attempts]);
    },
  };
}
