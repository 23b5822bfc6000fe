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

export function createSessionRepository(conn: Connection) {
  const Session = conn.model<SessionDoc>('Session', sessionSchema);
  return {
    insert: async (doc: Omit<SessionDoc, 'createdAt' | 'updatedAt'>) => (await Session.create(doc)).toObject(),
    findById: (id: string) => Session.findById(id).lean<SessionDoc>().exec(),
    /**
     * Marks a live session rotated, atomically: of two concurrent refreshes
     * with the same token only one gets the document back.
     */
    markRotated: (id: string, now: Date) =>
      Session.findOneAndUpdate(
        { _id: id, rotatedAt: { $exists: false }, revokedAt: { $exists: false } },
        { $set: { rotatedAt: now } },
        { new: true },
      ).lean<SessionDoc>().exec(),
    async revokeFamily(familyId: string, now: Date): Promise<number> {
      const result = await Session.updateMany({ familyId, revokedAt: { $exists: false } }, { $set: { revokedAt: now } }).exec();
      return result.modifiedCount;
    },
    /** Revokes every live session of the user, except `keepSessionId` when given. */
    async revokeForUser(organizationId: string, userId: string, now: Date, keepSessionId?: string): Promise<number> {
      const filter = { organizationId, userId, revokedAt: { $exists: false }, rotatedAt: { $exists: false }, ...(keepSessionId ? { _id: { $ne: keepSessionId } } : {}) };
      const result = await Session.updateMany(filter, { $set: { revokedAt: now } }).exec();
      return result.modifiedCount;
    },
    async revokeOne(organizationId: string, userId: string, sessionId: string, now: Date): Promise<boolean> {
      const result = await Session.updateOne({ _id: sessionId, organizationId, userId, revokedAt: { $exists: false } }, { $set: { revokedAt: now } }).exec();
      return result.modifiedCount === 1;
    },
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
