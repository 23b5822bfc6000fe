import { Schema, type Connection } from 'mongoose';

export interface GroupDoc {
  _id: string;
  organizationId: string;
  /** UPPERCASE; unique per organization through a claim on the name. */
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

const groupSchema = new Schema<GroupDoc>(
  { _id: String, organizationId: { type: String, required: true }, name: { type: String, required: true } },
  { timestamps: true, versionKey: false, collection: 'groups' },
);
groupSchema.index({ organizationId: 1, name: 1 });

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
    /** A scan by organization: group listings only. */
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
  };
}

export type GroupRepository = ReturnType<typeof createGroupRepository>;
