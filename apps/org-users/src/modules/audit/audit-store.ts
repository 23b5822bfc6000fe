import type { Connection as MongooseConnection, mongo } from 'mongoose';
import type { AuditEvent } from '@usergraph/audit';
import { isDuplicateKeyError } from '@usergraph/mongo';

export const AUDIT_EVENTS_COLLECTION = 'audit_events';

/**
 * org-users' audit log (docs/audit-log.md). `fanout` is the webhooks
 * dispatcher's: 'pending' until it turned the event into deliveries; an event
 * no webhook type maps to is stored 'done'.
 */
export type AuditEventDoc = AuditEvent & { _id: string; fanout: 'pending' | 'done' };

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

export function createAuditStore(conn: MongooseConnection) {
  const events = conn.collection<AuditEventDoc>(AUDIT_EVENTS_COLLECTION);

  return {
    /** The indexes of the design (AUDIT-DESIGN.md): the trail's order, the dispatcher's queue, the retention sweep. */
    async ensureIndexes(): Promise<void> {
      await events.createIndex({ organizationId: 1, occurredAt: -1, _id: -1 });
      await events.createIndex({ fanout: 1 });
      await events.createIndex({ occurredAt: 1 });
    },
    /** Idempotent by event id: a replayed event is stored once. The number newly stored. */
    async record(batch: AuditEvent[]): Promise<number> {
      if (batch.length === 0) return 0;
      // The design's shape: `{ _id: eventId, ...AuditEvent, fanout }` (the id twice: `_id` for uniqueness, `id` as the event has it).
      const docs = batch.map((e): AuditEventDoc => ({ _id: e.id, ...e, fanout: e.webhookType ? 'pending' : 'done' }));
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
      const filter: mongo.Filter<AuditEventDoc> = { organizationId };
      if (q.actor) filter['actor.id'] = q.actor;
      if (q.target) filter['target.id'] = q.target;
      if (q.action) filter.action = q.action;
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
        .toArray();
    },
    /** Retention: deletes every event older than `before`; the number deleted. */
    async sweep(before: Date): Promise<number> {
      return (await events.deleteMany({ occurredAt: { $lt: before } })).deletedCount;
    },
  };
}

export type AuditStore = ReturnType<typeof createAuditStore>;
