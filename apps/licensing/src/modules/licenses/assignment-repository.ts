import { Schema, type Connection } from 'mongoose';
import type { LicenseType } from '@usergraph/validation';
import type { AuditEvent } from '@usergraph/audit';

export interface AssignmentDoc {
  /** `<organizationId>:<userId>`: one document per user, so each change is a single-document update. */
  _id: string;
  organizationId: string;
  userId: string;
  licenses: LicenseType[];
  /** Group ids (names live in `groups`, so a rename is one update). */
  groupIds: string[];
  originGroupId?: string;
  /** Platform-support user, created only by the operator CLI: never removed or stripped. */
  supportAdmin: boolean;
  /** Optimistic-concurrency revision: every write is conditional on the one it read. */
  rev: number;
  /** Audit events written with the change they describe, until the relay moves them to org-users' log. */
  auditOutbox?: AuditEvent[];
  createdAt: Date;
  updatedAt: Date;
}

const assignmentSchema = new Schema<AssignmentDoc>(
  {
    _id: String,
    organizationId: { type: String, required: true },
    userId: { type: String, required: true },
    licenses: { type: [String], default: [] },
    groupIds: { type: [String], default: [] },
    originGroupId: String,
    supportAdmin: { type: Boolean, default: false },
    rev: { type: Number, required: true },
    auditOutbox: { type: [Schema.Types.Mixed], default: undefined },
  },
  { timestamps: true, versionKey: false, collection: 'assignments' },
);
assignmentSchema.index({ organizationId: 1, userId: 1 });
assignmentSchema.index({ organizationId: 1, groupIds: 1 });

export const assignmentId = (organizationId: string, userId: string) => `${organizationId}:${userId}`;

export type AssignmentFields = Pick<AssignmentDoc, 'licenses' | 'groupIds' | 'originGroupId' | 'supportAdmin'>;

/**
 * Scoped by organization in every method. Reads are by `_id`, which the
 * embedded store answers from its key (a filter without `_id` reads at best
 * every assignment of the organization, through the `organizationId` index),
 * with the organization checked on the document read; writes
 * filter on `_id`, the organization and the revision they were computed from.
 */
export function createAssignmentRepository(conn: Connection) {
  const Assignment = conn.model<AssignmentDoc>('Assignment', assignmentSchema);

  async function find(organizationId: string, userId: string): Promise<AssignmentDoc | null> {
    const doc = await Assignment.findOne({ _id: assignmentId(organizationId, userId) })
      .lean<AssignmentDoc>()
      .exec();
    return doc?.organizationId === organizationId ? doc : null;
  }

  return {
    find,
    /** One read by `_id: { $in }` (a DataLoader batch is at most a page); users without an assignment are left out. */
    findForUsers: (organizationId: string, userIds: readonly string[]): Promise<AssignmentDoc[]> =>
      Assignment.find({ _id: { $in: [...new Set(userIds)].map((userId) => assignmentId(organizationId, userId)) }, organizationId })
        .lean<AssignmentDoc[]>()
        .exec(),
    /**
     * Writes the new fields only if the document is still at `expectedRev`
     * (0: does not exist yet). False means someone else wrote first. The
     * revision condition has no `_id`-only form, so an update or delete is a
     * scan on FerretDB; a first assignment is an insert.
     */
    async writeIfUnchanged(
      organizationId: string,
      userId: string,
      expectedRev: number,
      fields: AssignmentFields,
      /** The change's audit events, in the same atomic write. */
      events: AuditEvent[] = [],
    ): Promise<boolean> {
      const { originGroupId, ...rest } = fields;
      const audit = events.length > 0 ? { $push: { auditOutbox: { $each: events } } } : {};
      if (expectedRev === 0) {
        try {
          await Assignment.create({
            _id: assignmentId(organizationId, userId),
            organizationId,
            userId,
            ...rest,
            ...(originGroupId ? { originGroupId } : {}),
            rev: 1,
            ...(events.length > 0 ? { auditOutbox: events } : {}),
          });
          return true;
        } catch (err) {
          if ((err as { code?: number }).code === 11000) return false;
          throw err;
        }
      }
      const update = originGroupId
        ? { $set: { ...rest, originGroupId }, $inc: { rev: 1 }, ...audit }
        : { $set: rest, $unset: { originGroupId: 1 }, $inc: { rev: 1 }, ...audit };
      const result = await Assignment.updateOne(
        { _id: assignmentId(organizationId, userId), organizationId, rev: expectedRev },
        update,
      ).exec();
      return result.modifiedCount === 1;
    },
    async deleteIfUnchanged(organizationId: string, userId: string, expectedRev: number): Promise<boolean> {
      const result = await Assignment.deleteOne({ _id: assignmentId(organizationId, userId), organizationId, rev: expectedRev }).exec();
      return result.deletedCount === 1;
    },
    /** Users of the organization holding the group (through the organizationId index): deleting a group only. */
    membersOf: (organizationId: string, groupId: string) =>
      Assignment.find({ organizationId, groupIds: groupId }).lean<AssignmentDoc[]>().exec(),
    /** Maintenance (all organizations): assignments not touched since `before`, for reconciliation. A scan, run by the reconciler only. */
    updatedBefore: (before: Date) =>
      Assignment.find({ updatedAt: { $lt: before } })
        .select({ organizationId: 1, userId: 1 })
        .lean<Array<Pick<AssignmentDoc, 'organizationId' | 'userId'>>>()
        .exec(),
    listForOrganization: (organizationId: string) => Assignment.find({ organizationId }).lean<AssignmentDoc[]>().exec(),
    /** Repair: how many of the organization's users hold the group (through the `{ organizationId, groupIds }` index). */
    countInGroup: (organizationId: string, groupId: string) => Assignment.countDocuments({ organizationId, groupIds: groupId }).exec(),
    /** Repair: the organization's assignments, streamed in batches (licenses only). */
    streamLicensesOf: (organizationId: string) =>
      Assignment.find({ organizationId })
        .select({ licenses: 1, supportAdmin: 1 })
        .lean<Array<Pick<AssignmentDoc, 'licenses' | 'supportAdmin'>>>()
        .cursor({ batchSize: 500 }),
  };
}

export type AssignmentRepository = ReturnType<typeof createAssignmentRepository>;
