import type { Connection as MongooseConnection, mongo } from 'mongoose';
import type { AuditEvent } from '@usergraph/audit';
import { isDuplicateKeyError, isMaxTimeExpiredError } from '@usergraph/mongo';
import { DomainError } from '@usergraph/service-kit';

export const AUDIT_EVENTS_COLLECTION = 'audit_events';

/**
 * The keys the trail's filters look events up by: the organization and the
 * filtered value in one top-level string (JSON, so no two pairs share a key).
 * One field, not `organizationId` + `actor.id`, because the embedded store
 * looks up only a top-level string that leads a declared index
 * (tools/ferretdb/patches/key_filter.go); on MongoDB `{ actorKey, occurredAt,
 * _id }` is the same index as `{ organizationId, actor.id, occurredAt, _id }`.
 */
export interface AuditLookupKeys {
  actorKey: string;
  targetKey: string;
  actionKey: string;
}

export const auditLookupKey = (organizationId: string, value: string): string => JSON.stringify([organizationId, value]);

/**
 * org-users' audit log (docs/audit-log.md). `fanout` is the webhooks
 * dispatcher's: 'pending' until it turned the event into deliveries; an event
 * no webhook type maps to is stored 'done'.
 */
export type AuditEventDoc = AuditEvent & { _id: string; fanout: 'pending' | 'done' } & Partial<AuditLookupKeys>;

export interface AuditQuery {
  actor?: string;
  target?: string;
  action?: string;
  since?: Date;
  until?: Date;
}

/** A position in the newest-first order: (occurredAt, _id), both descending. */
export interface AuditCursor {
  at: Date;
  id: string;
}

/** The retention sweep's bounds: ids deleted per batch (the embedded store's `$in` key lookup takes 1,000), batches per run. */
export interface SweepLimits {
  batchSize: number;
  maxBatches: number;
}

export const DEFAULT_SWEEP_LIMITS: SweepLimits = { batchSize: 1000, maxBatches: 50 };

export function createAuditStore(conn: MongooseConnection, opts: { maxTimeMS: number }) {
  const events = conn.collection<AuditEventDoc>(AUDIT_EVENTS_COLLECTION);
  /** A query that ran out of its time answers a coded error (never INTERNAL_SERVER_ERROR). */
  const timedOut = (err: unknown): never => {
    if (isMaxTimeExpiredError(err))
      throw new DomainError('SERVICE_UNAVAILABLE', 'The audit trail query took too long; narrow the filter or retry', [], {
        reason: 'QUERY_TIMEOUT',
      });
    throw err;
  };

  return {
    /**
     * The trail's order, and one index per filter (organization and value in one key, then the cursor's
     * order: equality, then sort, on MongoDB); the dispatcher's queue (`fanout: 'pending'` oldest first) and the
     * retention sweep (`fanout: 'done'` older than the cut-off) share the last.
     */
    async ensureIndexes(): Promise<void> {
      await events.createIndex({ organizationId: 1, occurredAt: -1, _id: -1 });
      await events.createIndex({ actorKey: 1, occurredAt: -1, _id: -1 });
      await events.createIndex({ targetKey: 1, occurredAt: -1, _id: -1 });
      await events.createIndex({ actionKey: 1, occurredAt: -1, _id: -1 });
      await events.createIndex({ fanout: 1, occurredAt: 1, _id: 1 });
    },
    /** Idempotent by event id: a replayed event is stored once. The number newly stored. */
    async record(batch: AuditEvent[]): Promise<number> {
      if (batch.length === 0) return 0;
      // The design's shape: `{ _id: eventId, ...AuditEvent, fanout }` (the id twice: `_id` for uniqueness, `id` as the event has it).
      const docs = batch.map((e): AuditEventDoc => ({
        _id: e.id,
        ...e,
        fanout: e.webhookType ? 'pending' : 'done',
        actorKey: auditLookupKey(e.organizationId, e.actor.id),
        targetKey: auditLookupKey(e.organizationId, e.target.id),
        actionKey: auditLookupKey(e.organizationId, e.action),
      }));
      try {
        return (await events.insertMany(docs, { ordered: false })).insertedCount;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        // ordered:false wrote every other one; make sure (a store that stops at the first duplicate would not have).
        const stored = new Set(
          (await events.find({ _id: { $in: docs.map((d) => d._id) } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id),
        );
        const missing = docs.filter((d) => !stored.has(d._id));
        for (const d of missing) {
          await events.insertOne(d).catch((e: unknown) => {
            if (!isDuplicateKeyError(e)) throw e;
          });
        }
        return missing.length;
      }
    },
    /** One organization's events, newest first, after the cursor; one more than `first` tells whether more follow. */
    async page(organizationId: string, q: AuditQuery, first: number, after?: AuditCursor): Promise<AuditEventDoc[]> {
      const filter: mongo.Filter<AuditEventDoc> = {};
      if (q.actor) filter.actorKey = auditLookupKey(organizationId, q.actor);
      if (q.target) filter.targetKey = auditLookupKey(organizationId, q.target);
      if (q.action) filter.actionKey = auditLookupKey(organizationId, q.action);
      // With a key (it holds the organization), `$eq` keeps the embedded store on the key's index alone: it looks up
      // every plain string that leads an index, and SQLite would pick between the organization's and the key's.
      filter.organizationId = Object.keys(filter).length > 0 ? { $eq: organizationId } : organizationId;
      const range: { $gte?: Date; $lt?: Date } = {};
      if (q.since) range.$gte = q.since;
      if (q.until) range.$lt = q.until;
      const conditions: Array<mongo.Filter<AuditEventDoc>> = [];
      if (range.$gte || range.$lt) conditions.push({ occurredAt: range });
      if (after) conditions.push({ $or: [{ occurredAt: { $lt: after.at } }, { occurredAt: after.at, _id: { $lt: after.id } }] });
      if (conditions.length > 0) filter.$and = conditions;
      return events
        .find(filter)
        .sort({ occurredAt: -1, _id: -1 })
        .limit(first + 1)
        .maxTimeMS(opts.maxTimeMS)
        .toArray()
        .catch(timedOut);
    },
    /**
     * Retention: deletes events older than `before`, oldest first, in batches (yielding between them), at most
     * `maxBatches` per run; an event whose webhook fan-out is pending stays until the dispatcher is done with it.
     * The number deleted.
     */
    async sweep(before: Date, limits: SweepLimits = DEFAULT_SWEEP_LIMITS): Promise<number> {
      const expired = { occurredAt: { $lt: before }, fanout: 'done' as const };
      let deleted = 0;
      for (let batch = 0; batch < limits.maxBatches; batch++) {
        // No sort: MongoDB walks `{ fanout, occurredAt }` oldest first anyway, and the embedded store (which sorts in
        // memory, after reading every match) streams 'done' rows in insertion order and stops at the limit.
        // No maxTimeMS: not a request, and bounded by the batches; one that always expired would let the log grow.
        const ids = (
          await events
            .find(expired, { projection: { _id: 1 } })
            .limit(limits.batchSize)
            .toArray()
        ).map((d) => d._id);
        if (ids.length === 0) break;
        // By key, and `fanout: 'done'` again: an event is never deleted while its fan-out is pending.
        deleted += (await events.deleteMany({ _id: { $in: ids }, ...expired })).deletedCount;
        if (ids.length < limits.batchSize) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      return deleted;
    },
  };
}

export type AuditStore = ReturnType<typeof createAuditStore>;
