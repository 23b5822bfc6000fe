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

export function createGroupRepository(conn: Connection) {
  const Group = conn.model<GroupDoc>('Group', groupSchema);
  return {
    list: (organizationId: string) => Group.find({ organizationId }).sort({ name: 1 }).lean<GroupDoc[]>().exec(),
    findByNames: (organizationId: string, names: readonly string[]) =>
      Group.find({ organizationId, name: { $in: [...names] } }).lean<GroupDoc[]>().exec(),
    findByIds: (organizationId: string, ids: readonly string[]) =>
      Group.find({ organizationId, _id: { $in: [...ids] } }).lean<GroupDoc[]>().exec(),
    async insertOnce(doc: Omit<GroupDoc, 'createdAt' | 'updatedAt'>): Promise<void> {
      try {
        await Group.create(doc);
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
      }
    },
    rename: (organizationId: string, id: string, name: string) =>
      Group.findOneAndUpdate({ organizationId, _id: id }, { $set: { name } }, { new: true }).lean<GroupDoc>().exec(),
    async remove(organizationId: string, id: string): Promise<void> {
      await Group.deleteOne({ organizationId, _id: id }).exec();
    },
  };
}

export type GroupRepository = ReturnType<typeof createGroupRepository>;
