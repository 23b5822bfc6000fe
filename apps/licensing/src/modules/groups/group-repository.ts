import { Schema, type Connection } from 'mongoose';

export interface GroupDoc {
  _id: string;
  organizationId: string;
  /** UPPERCASE; unique per organization through a claim on the name. */
  name: string;
  /** Users holding the group, kept by every assignment change (absent: none yet). */
  memberCount?: number;
  createdAt: Date;
  updatedAt: Date;
}

const groupSchema = new Schema<GroupDoc>(
  { _id: String, organizationId: { type: String, required: true }, name: { type: String, required: true }, memberCount: Number },
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
      Group.find({ _id: { $in: [...new Set(ids)] }, organizationId }).lean<GroupDoc[]>().exec(),
    async insertOnce(doc: Omit<GroupDoc, 'createdAt' | 'updatedAt'>): Promise<void> {
      try {
        await Group.create(doc);
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
      }
    },
    rename: (organizationId: string, id: string, name: string): Promise<GroupDoc | null> =>
      Group.findOneAndUpdate({ _id: id, organizationId }, { $set: { name } }, { new: true }).lean<GroupDoc>().exec(),
    async remove(organizationId: string, id: string): Promise<void> {
      await Group.deleteOne({ _id: id, organizationId }).exec();
    },
    /** Adds each delta to its group's member count: one keyed `$inc` per group. */
    async adjustMemberCounts(organizationId: string, deltas: ReadonlyMap<string, number>): Promise<void> {
      await Promise.all([...deltas].map(([id, delta]) => Group.updateOne({ _id: id, organizationId }, { $inc: { memberCount: delta } }).exec()));
    },
    /** Maintenance (repair): the next `limit` groups of every organization after `afterId`, in `_id` order (the marker is left out). */
    pageAll: (afterId: string, limit: number) =>
      Group.find({ _id: { $gt: afterId }, organizationId: { $exists: true } })
        .sort({ _id: 1 })
        .limit(limit)
        .select({ organizationId: 1, name: 1, memberCount: 1 })
        .lean<Pick<GroupDoc, '_id' | 'organizationId' | 'name' | 'memberCount'>[]>()
        .exec(),
    /**
     * Repair: sets the member count only while it is still the value the
     * caller read (`from`, undefined: absent), so a live `$inc` in between
     * is never overwritten. False: it moved, leave it to the next run.
     */
    async setMemberCountIf(organizationId: string, id: string, from: number | undefined, to: number): Promise<boolean> {
      const current = from === undefined ? { $exists: false } : from;
      const result = await Group.updateOne({ _id: id, organizationId, memberCount: current }, { $set: { memberCount: to } }).exec();
      return result.modifiedCount === 1;
    },
    /**
     * Sets every group's member count from the assignments, once per database
     * (a marker records it): groups from before the counts existed get theirs.
     * Run at start, before licensing serves. A scan, once; setting a tally is
     * idempotent, so a crash midway only means it runs again.
     */
    async countMembersOnce(assignments: AsyncIterable<{ organizationId: string; groupIds: string[] }>): Promise<number> {
      if (await Group.collection.findOne({ _id: MEMBER_COUNTS_MARKER as never })) return 0;
      const tally = new Map<string, { organizationId: string; count: number }>();
      for await (const a of assignments) {
        for (const id of a.groupIds) tally.set(id, { organizationId: a.organizationId, count: (tally.get(id)?.count ?? 0) + 1 });
      }
      for (const [id, { organizationId, count }] of tally) await Group.updateOne({ _id: id, organizationId }, { $set: { memberCount: count } }).exec();
      await Group.collection.updateOne({ _id: MEMBER_COUNTS_MARKER as never }, { $set: { at: new Date() } }, { upsert: true });
      return tally.size;
    },
  };
}

export type GroupRepository = ReturnType<typeof createGroupRepository>;
