import { Schema, type Connection } from 'mongoose';

export interface SessionDoc {
  _id: string;
  organizationId: string;
  userId: string;
  /** All sessions created by rotating one login share a family; reuse revokes the family. */
  familyId: string;
  refreshTokenHash: string;
  refreshExpiresAt: Date;
  accessExpiresAt: Date;
  /** Set when this session's refresh token was exchanged for a new session. */
  rotatedAt?: Date;
  revokedAt?: Date;
  clientIp?: string;
  createdAt: Date;
  updatedAt: Date;
}

const sessionSchema = new Schema<SessionDoc>(
  {
    _id: String,
    organizationId: { type: String, required: true },
    userId: { type: String, required: true },
    familyId: { type: String, required: true },
    refreshTokenHash: { type: String, required: true },
    refreshExpiresAt: { type: Date, required: true },
    accessExpiresAt: { type: Date, required: true },
    rotatedAt: Date,
    revokedAt: Date,
    clientIp: String,
  },
  { timestamps: true, versionKey: false, collection: 'sessions' },
);
sessionSchema.index({ organizationId: 1, userId: 1 });
sessionSchema.index({ familyId: 1 });

/**
 * Refresh, rotation and logout touch sessions by `_id` only: the embedded
 * store answers a filter from its key only when it holds `_id`, and any other
 * filter decodes every session. Conditions become atomic `_id`-only updates: `$min` sets a
 * timestamp only where there is none, and the document from before the
 * update says whether this call was the one that set it.
 */
export function createSessionRepository(conn: Connection) {
  const Session = conn.model<SessionDoc>('Session', sessionSchema);
  return {
    insert: async (doc: Omit<SessionDoc, 'createdAt' | 'updatedAt'>) => (await Session.create(doc)).toObject(),
    findById: (id: string) => Session.findOne({ _id: id }).lean<SessionDoc>().exec(),
    /**
     * Marks a live session rotated, atomically: of two concurrent refreshes
     * with the same token only one gets true.
     */
    async markRotated(id: string, now: Date): Promise<boolean> {
      const before = await Session.findOneAndUpdate({ _id: id }, { $min: { rotatedAt: now } }, { new: false }).lean<SessionDoc>().exec();
      return Boolean(before && !before.rotatedAt && !before.revokedAt);
    },
    /** A scan by family, run only when a refresh token was reused (or raced). */
    async revokeFamily(familyId: string, now: Date): Promise<number> {
      const result = await Session.updateMany({ familyId, revokedAt: { $exists: false } }, { $set: { revokedAt: now } }).exec();
      return result.modifiedCount;
    },
    /** Revokes every live session of the user, except `keepSessionId` when given. A scan by user: password change or reset, user deletion, "sign out everywhere". */
    async revokeForUser(organizationId: string, userId: string, now: Date, keepSessionId?: string): Promise<number> {
      const filter = { organizationId, userId, revokedAt: { $exists: false }, rotatedAt: { $exists: false }, ...(keepSessionId ? { _id: { $ne: keepSessionId } } : {}) };
      const result = await Session.updateMany(filter, { $set: { revokedAt: now } }).exec();
      return result.modifiedCount;
    },
    /** Revokes one live session of the user; false if it is not theirs or not live. */
    async revokeOne(organizationId: string, userId: string, sessionId: string, now: Date): Promise<boolean> {
      const session = await Session.findOne({ _id: sessionId }).lean<SessionDoc>().exec();
      if (session?.organizationId !== organizationId || session.userId !== userId || session.revokedAt) return false;
      const before = await Session.findOneAndUpdate({ _id: sessionId }, { $min: { revokedAt: now } }, { new: false }).lean<SessionDoc>().exec();
      return Boolean(before && !before.revokedAt);
    },
    /** A scan by user: `mySessions` only. */
    listActiveForUser: (organizationId: string, userId: string, now: Date) =>
      Session.find({
        organizationId,
        userId,
        revokedAt: { $exists: false },
        rotatedAt: { $exists: false },
        refreshExpiresAt: { $gt: now },
      })
        .sort({ createdAt: -1 })
        .lean<SessionDoc[]>()
        .exec(),
  };
}

export type SessionRepository = ReturnType<typeof createSessionRepository>;
