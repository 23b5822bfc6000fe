import { Schema, type Connection } from 'mongoose';
import type { LicenseType } from '@usergraph/validation';

export interface AssignmentDoc {
  /** `<organizationId>:<userId>`: one document per user makes each change a single-document update. */
  _id: string;
  organizationId: string;
  userId: string;
  licenses: LicenseType[];
  groups: string[];
  originGroup?: string;
  createdAt: Date;
  updatedAt: Date;
}

const assignmentSchema = new Schema<AssignmentDoc>(
  {
    _id: String,
    organizationId: { type: String, required: true },
    userId: { type: String, required: true },
    licenses: { type: [String], default: [] },
    groups: { type: [String], default: [] },
    originGroup: String,
  },
  { timestamps: true, versionKey: false, collection: 'assignments' },
);
assignmentSchema.index({ organizationId: 1, userId: 1 });

export const assignmentId = (organizationId: string, userId: string) => `${organizationId}:${userId}`;

/** Scoped by organization in every method. */
export function createAssignmentRepository(conn: Connection) {
  const Assignment = conn.model<AssignmentDoc>('Assignment', assignmentSchema);
  return {
    findForUsers: (organizationId: string, userIds: readonly string[]) =>
      Assignment.find({ organizationId, userId: { $in: [...userIds] } }).lean<AssignmentDoc[]>().exec(),
    upsert(organizationId: string, userId: string, set: Pick<AssignmentDoc, 'licenses' | 'groups'> & { originGroup?: string | null }) {
      const fields = { organizationId, userId, licenses: set.licenses, groups: set.groups };
      const update = set.originGroup
        ? { $set: { ...fields, originGroup: set.originGroup } }
        : { $set: fields, $unset: { originGroup: 1 } };
      return Assignment.findOneAndUpdate({ _id: assignmentId(organizationId, userId), organizationId }, update, { upsert: true, new: true })
        .lean<AssignmentDoc>()
        .exec();
    },
  };
}

export type AssignmentRepository = ReturnType<typeof createAssignmentRepository>;
