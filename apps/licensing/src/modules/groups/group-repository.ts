import { Schema, type Connection } from 'mongoose';
import type { AuditEvent } from '@usergraph/audit';

export interface GroupDoc {
  _id: string;
  organizationId: string;
  /** UPPERCASE; unique per organization through a claim on the name. */
  name: string;
  /** Users holding the group, kept by every assignment change (absent: none yet). */
  memberCount?: number;
  /** Audit events of the group's creation and renames, until the relay moves them to org-users' log. */
  auditOutbox?: AuditEvent[];
  createdAt: Date;
  updatedAt: Date;
}

const groupSchema = new Schema<GroupDoc>(
  {
    _id: String,
    organizationId: { type: String, required: true },
    name: { type: String, required: true },
    memberCount: Number,
    auditOutbox: { type: [Schema.Types.Mixed], default: undefined },
  },
  { timestamps: true, versionKey: false, collection: 'groups' },
);
groupSchema.index({ organizationId: 1, name: 1 });

/** Marks that member counts were set from the assignments (no organizationId: never listed). */
const MEMBER_COUNTS_MARKER = 'member-counts-built';

/**
 * Lookups by id read by `_id`, which the embedded store answers from its key
 * (the collection holds every organization's groups), and check the
 * organization on the document read; writes filter on `{ _id, organizationId }`.
 */
export function createGroupRepository(conn: Connection) {
  const Group = conn.model<GroupDoc>('Group', groupSchema);
  /** The marker shares the collection, outside the schema (no organizationId: never listed). */
  const markers = conn.collection<{ _id: string; at?: Date }>('groups');

  async function findById(organizationId: string, id: string): Promise<GroupDoc | null> {
    const doc = await Group.findOne({ _id: id }).lean<GroupDoc>().exec();
    return doc?.organizationId === organizationId ? doc : null;
  }

  return {
    /** Through the `organizationId` index (the organization's groups only): group listings. */
    list: (organizationId: string) => Group.find({ organizationId }).sort({ name: 1 }).lean<GroupDoc[]>().exec(),
    findById,
    /** One read by `_id: { $in }`; missing and foreign ids are left out. */
    findByIds: (organizationId: string, ids: readonly string[]): Promise<GroupDoc[]> =>
      Group.find({ _id: { $in: [...new Set(ids)] }, organizationId })
        .lean<GroupDoc[]>()
        .exec(),
    async insertOnce(doc: Omit<GroupDoc, 'createdAt' | 'updatedAt'>): Promise<void> {
      try {
        await Group.create(doc);
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
      }
    },
    /** With its audit event in the same atomic write. */
    rename: (organizationId: string, id: string, name: string, event: AuditEvent): Promise<GroupDoc | null> =>
      Group.findOneAndUpdate({ _id: id, organizationId }, { $set: { name }, $push: { auditOutbox: event } }, { new: true })
        .lean<GroupDoc>()
        .exec(),
    async remove(organizationId: string, id: string): Promise<void> {
      await Group.deleteOne({ _id: id, organizationId }).exec();
    },
    /** Adds each delta to its group's member count: one keyed `$inc` per group. */
    async adjustMemberCounts(organizationId: string, deltas: ReadonlyMap<string, number>): Promise<void> {
      await Promise.all(
        [...deltas].map(([id, delta]) => Group.updateOne({ _id: id, organizationId }, { $inc: { memberCount: delta } }).exec()),
      );
    },
    /** Maintenance (repair): the next `limit` groups of every organization after `afterId`, in `_id` order (the marker is left out). */
    pageAll: (afterId: string, limit: number) =>
      Group.find({ _id: { $gt: afterId }, organizationId: { $exists: true } })
        .sort({ _id: 1 })
        .limit(limit)
        .select({ organizationId: 1, name: 1, memberCount: 1 })
        .lean<Array<Pick<GroupDoc, '_id' | 'organizationId' | 'name' | 'memberCount'>>>()
        .exec(),
    /**
     * Repair: sets the member count only while it is still the value the
     * caller read (`from`, undefined: absent), so a live `$inc` in between
     * is never overwritten. False: it moved, leave it to the next run.
     */
    async setMemberCountIf(organizationId: string, id: string, from: number | undefined, to: number): Promise<boolean> {
      const current = from ?? { $exists: false };
      const result = await Group.updateOne({ _id: id, organizationId, memberCount: current }, { $set: { memberCount: to } }).exec();
      return result.modifiedCount === 1;
    },
    /** The start-up build of member counts (member-counts-build.ts) has finished for this database. */
    memberCountsBuilt: async (): Promise<boolean> => (await markers.findOne({ _id: MEMBER_COUNTS_MARKER })) !== null,
    async markMemberCountsBuilt(): Promise<void> {
      await markers.updateOne({ _id: MEMBER_COUNTS_MARKER }, { $set: { at: new Date() } }, { upsert: true });
    },
  };
}

export type GroupRepository = ReturnType<typeof createGroupRepository>;
