import type { Connection } from 'mongoose';
import type { AuditEvent } from '@usergraph/contracts';
import { isDuplicateKeyError } from '@usergraph/mongo';

/** Each service's outbox of events not yet in org-users' log (one document per event, `_id` = event id). */
export const AUDIT_OUTBOX_COLLECTION = 'audit_outbox';

/** Where a relay finds events to move, and how it forgets those that arrived. */
export interface AuditSource {
  name: string;
  /**
   * Whether a pass over everything waiting is cheap (a small collection of its own): then every kick
   * looks at all of it. Otherwise a kick looks only at the documents it names, and the interval and
   * reconcile pass over everything.
   */
  cheapScan: boolean;
  /** Up to `limit` events waiting (only in the documents `ids` names, when given). */
  pending(limit: number, ids?: string[]): Promise<AuditEvent[]>;
  /** The events arrived in the log: remove them here. */
  done(events: AuditEvent[]): Promise<void>;
}

type OutboxDoc = AuditEvent & { _id: string };

/**
 * The outbox collection: for an event that is itself the change (a failed
 * login), or whose change deletes or spans documents (a deletion saga). A
 * replay puts the same id again and is ignored.
 */
export function createAuditOutbox(conn: Connection) {
  const outbox = conn.collection<OutboxDoc>(AUDIT_OUTBOX_COLLECTION);
  const toEvent = ({ _id, ...e }: OutboxDoc): AuditEvent => e;
  return {
    /** Idempotent by event id. */
    async put(events: AuditEvent[]): Promise<void> {
      if (events.length === 0) return;
      try {
        await outbox.insertMany(
          events.map((e) => ({ _id: e.id, ...e })),
          { ordered: false },
        );
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        // Some were there already (a replay); insertMany with ordered:false wrote the others. Check none is missing.
        const found = new Set(
          (await outbox.find({ _id: { $in: events.map((e) => e.id) } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id),
        );
        const missing = events.filter((e) => !found.has(e.id));
        if (missing.length > 0) await this.put(missing);
      }
    },
    source: (): AuditSource => ({
      name: AUDIT_OUTBOX_COLLECTION,
      cheapScan: true,
      pending: async (limit) => (await outbox.find({}).sort({ _id: 1 }).limit(limit).toArray()).map(toEvent),
      done: async (events) => {
        await outbox.deleteMany({ _id: { $in: events.map((e) => e.id) } });
      },
    }),
  };
}

export type AuditOutbox = ReturnType<typeof createAuditOutbox>;

/**
 * Events kept on the document whose write they describe (`auditOutbox: [event]`
 * on insert, `$push` on update): one atomic write holds the change and its event.
 * `ready` narrows to documents whose events may go (e.g. not a profile still being created).
 */
export function embeddedOutboxSource(conn: Connection, collection: string, ready: Record<string, unknown> = {}): AuditSource {
  const docs = conn.collection<{ _id: string; auditOutbox?: AuditEvent[] }>(collection);
  // Which document each pending event was read from (done() pulls it there).
  const docOf = new Map<string, string>();
  return {
    name: `${collection}.auditOutbox`,
    cheapScan: false,
    async pending(limit, ids) {
      // A kick names its documents (read by _id); a full pass is a scan of the collection, left to the interval and reconcile.
      const found = await docs
        .find(
          { ...(ids ? { _id: { $in: ids } } : {}), 'auditOutbox.0': { $exists: true }, ...ready },
          { projection: { _id: 1, auditOutbox: 1 } },
        )
        .limit(limit)
        .toArray();
      // At most `limit` events (one command's worth): a document's others wait for the next batch.
      return found
        .flatMap((d) =>
          (d.auditOutbox ?? []).map((e) => {
            docOf.set(e.id, d._id);
            return e;
          }),
        )
        .slice(0, limit);
    },
    async done(events) {
      const byDoc = new Map<string, AuditEvent[]>();
      for (const e of events) {
        const docId = docOf.get(e.id);
        docOf.delete(e.id);
        if (docId) byDoc.set(docId, [...(byDoc.get(docId) ?? []), e]);
      }
      // $pullAll with the elements exactly as read: the embedded store's $pull matches whole values only, not conditions.
      for (const [docId, pulled] of byDoc) await docs.updateOne({ _id: docId }, { $pullAll: { auditOutbox: pulled } });
    },
  };
}
