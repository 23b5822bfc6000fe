import { Schema, type Connection } from 'mongoose';
import { isDuplicateKeyError } from '@usergraph/mongo';
import type { AuditEvent } from '@usergraph/audit';
import type { CredentialDoc } from '../credentials/credential-repository.js';

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
  /** The user's credentials' `sessionsGeneration` when the login was made (a refresh inherits it); absent: 0. */
  credentialsGeneration?: number;
  /** A login's `user.login` and a revocation's `session.revoked`, in the write they describe, until relayed. */
  auditOutbox?: AuditEvent[];
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
    credentialsGeneration: Number,
    auditOutbox: { type: [Schema.Types.Mixed], default: undefined },
  },
  { timestamps: true, versionKey: false, collection: 'sessions' },
);
/**
 * One document per user: each live login (a family of rotated sessions) and
 * the session that currently holds it, with its refresh expiry. It is how a
 * user's sessions are found by key: `mySessions`, sign out everywhere and a
 * family's revocation read it instead of searching `sessions` by user or by
 * family, which the embedded store could only answer by decoding every
 * session.
 */
export interface UserSessionsDoc {
  _id: string;
  families: Record<string, { sessionId: string; refreshExpiresAt: Date }>;
}

const userSessionsSchema = new Schema<UserSessionsDoc>(
  { _id: String, families: { type: Schema.Types.Mixed, default: {} } },
  { versionKey: false, collection: 'user_sessions', minimize: false },
);

const userSessionsId = (organizationId: string, userId: string) => `${organizationId}:${userId}`;
const familyPath = (familyId: string) => `families.${familyId}`;
/** Marks that the sessions saved before the per-user list existed were entered in it (no colon: never a user's key). */
const BUILT_MARKER = 'built';
/** Passes over a user's families when a concurrent refresh moves one. */
const MAX_REVOKE_PASSES = 10;

export type NewSession = Omit<SessionDoc, 'createdAt' | 'updatedAt'>;

/**
 * Every filter holds `_id`, which the embedded store answers by key. A
 * family's entry moves from session to session only by a write conditional
 * on the session it held, and is removed the same way; so whoever removes an
 * entry revokes exactly the session it held, and a refresh whose move fails
 * knows its family was revoked meanwhile. `$min` sets a timestamp only where
 * there is none, and the document from before the update says whether this
 * call was the one that set it.
 */
export function createSessionRepository(conn: Connection) {
  const Session = conn.model<SessionDoc>('Session', sessionSchema);
  const UserSessions = conn.model<UserSessionsDoc>('UserSessions', userSessionsSchema);

  /** Sets revokedAt unless set; the session as it was, if this call revoked it. */
  async function revoke(sessionId: string, now: Date): Promise<SessionDoc | null> {
    const before = await Session.findOneAndUpdate({ _id: sessionId }, { $min: { revokedAt: now } }, { new: false })
      .lean<SessionDoc>()
      .exec();
    return before && !before.revokedAt ? before : null;
  }

  /** Removes the family's entry if it still holds `sessionId`; true if this call removed it. */
  async function removeEntry(userKey: string, familyId: string, sessionId: string): Promise<boolean> {
    const result = await UserSessions.updateOne(
      { _id: userKey, [`${familyPath(familyId)}.sessionId`]: sessionId },
      { $unset: { [familyPath(familyId)]: 1 } },
    ).exec();
    return result.modifiedCount === 1;
  }

  const readFamilies = async (userKey: string) =>
    (await UserSessions.findOne({ _id: userKey }).lean<UserSessionsDoc>().exec())?.families ?? {};

  return {
    findById: (id: string) => Session.findOne({ _id: id }).lean<SessionDoc>().exec(),

    /** A new login: the session starts its own family. Families whose refresh expired are dropped from the user's list. */
    async insertLogin(doc: NewSession, now: Date): Promise<void> {
      await Session.create(doc);
      const userKey = userSessionsId(doc.organizationId, doc.userId);
      const after = await UserSessions.findOneAndUpdate(
        { _id: userKey },
        { $set: { [familyPath(doc.familyId)]: { sessionId: doc._id, refreshExpiresAt: doc.refreshExpiresAt } } },
        { upsert: true, new: true },
      )
        .lean<UserSessionsDoc>()
        .exec();
      const expired = Object.entries(after.families).filter(([, entry]) => entry.refreshExpiresAt <= now);
      if (expired.length === 0) return;
      // Conditional on each entry as read: an expired session is never refreshed, so this only guards against surprises.
      await UserSessions.updateOne(
        { _id: userKey, ...Object.fromEntries(expired.map(([familyId, entry]) => [`${familyPath(familyId)}.sessionId`, entry.sessionId])) },
        { $unset: Object.fromEntries(expired.map(([familyId]) => [familyPath(familyId), 1])) },
      ).exec();
    },

    /**
     * Marks a live session rotated, atomically: of two concurrent refreshes
     * with the same token only one gets true.
     */
    async markRotated(id: string, now: Date): Promise<boolean> {
      const before = await Session.findOneAndUpdate({ _id: id }, { $min: { rotatedAt: now } }, { new: false })
        .lean<SessionDoc>()
        .exec();
      return Boolean(before && !before.rotatedAt && !before.revokedAt);
    },

    /**
     * Saves the session that replaces `previous` (already marked rotated) and
     * moves the family's entry to it. False, with `next` revoked, when the
     * family was revoked meanwhile (a reuse or sign out everywhere won the race).
     */
    async insertRotated(previous: SessionDoc, next: NewSession, now: Date): Promise<boolean> {
      await Session.create(next);
      const moved = await UserSessions.updateOne(
        { _id: userSessionsId(next.organizationId, next.userId), [`${familyPath(next.familyId)}.sessionId`]: previous._id },
        { $set: { [familyPath(next.familyId)]: { sessionId: next._id, refreshExpiresAt: next.refreshExpiresAt } } },
      ).exec();
      if (moved.modifiedCount === 1) return true;
      await revoke(next._id, now);
      return false;
    },

    /** Revokes the family's current session (a refresh token was reused); the presented session is revoked too. */
    async revokeFamily(presented: SessionDoc, now: Date): Promise<void> {
      await revoke(presented._id, now);
      const userKey = userSessionsId(presented.organizationId, presented.userId);
      for (let pass = 0; pass < MAX_REVOKE_PASSES; pass++) {
        const entry = (await readFamilies(userKey))[presented.familyId];
        if (!entry) return;
        if (await removeEntry(userKey, presented.familyId, entry.sessionId)) {
          await revoke(entry.sessionId, now);
          return;
        }
      }
    },

    /**
     * Revokes every live session of the user, except the login (family) `keepFamilyId` when given, whichever
     * of its sessions is current: password change or reset, user deletion, "sign out everywhere".
     */
    async revokeForUser(organizationId: string, userId: string, now: Date, keepFamilyId?: string): Promise<number> {
      const userKey = userSessionsId(organizationId, userId);
      let revoked = 0;
      for (let pass = 0; pass < MAX_REVOKE_PASSES; pass++) {
        const targets = Object.entries(await readFamilies(userKey)).filter(([familyId]) => familyId !== keepFamilyId);
        if (targets.length === 0) break;
        const removed = await Promise.all(
          targets.map(async ([familyId, entry]) => {
            if (!(await removeEntry(userKey, familyId, entry.sessionId))) return false; // refreshed meanwhile: next pass
            if (await revoke(entry.sessionId, now)) revoked++;
            return true;
          }),
        );
        if (removed.every(Boolean)) break;
      }
      return revoked;
    },

    /**
     * Revokes one live session of the user, its `session.revoked` event in the same write (only the
     * call that revokes it writes one); false if it is not theirs, not live, no longer its login's current
     * session (rotated: the login lives on in its successor), or cut off by the credentials' `cutOff`
     * (already ended: nothing to revoke, nothing to record).
     */
    async revokeOne(
      organizationId: string,
      userId: string,
      sessionId: string,
      now: Date,
      event: AuditEvent,
      cutOff: Pick<CredentialDoc, 'sessionsGeneration' | 'keptFamilyId'>,
    ): Promise<boolean> {
      const generation = cutOff.sessionsGeneration ?? 0;
      // sessionStands, as a filter: issued under the current generation or later, or of the kept login.
      const stands =
        generation === 0
          ? {}
          : {
              $or: [{ credentialsGeneration: { $gte: generation } }, ...(cutOff.keptFamilyId ? [{ familyId: cutOff.keptFamilyId }] : [])],
            };
      const before = await Session.findOneAndUpdate(
        { _id: sessionId, organizationId, userId, revokedAt: { $exists: false }, rotatedAt: { $exists: false }, ...stands },
        { $set: { revokedAt: now }, $push: { auditOutbox: event } },
        { new: false },
      )
        .lean<SessionDoc>()
        .exec();
      if (!before) return false;
      await removeEntry(userSessionsId(organizationId, userId), before.familyId, sessionId);
      return true;
    },

    /** The session that currently holds the login `familyId` of the user, if any (a rotated session's successor). */
    currentOfFamily: async (organizationId: string, userId: string, familyId: string): Promise<string | undefined> =>
      (await readFamilies(userSessionsId(organizationId, userId)))[familyId]?.sessionId,

    /** The start-up build of the per-user lists (`buildLists`) has finished for this database. */
    listsBuilt: async (): Promise<boolean> => (await UserSessions.exists({ _id: BUILT_MARKER }).exec()) !== null,

    /** Marks the lists built (`buildLists` finished): written by runStartupBuild, only while it still holds the lease. */
    async markListsBuilt(): Promise<void> {
      await UserSessions.updateOne({ _id: BUILT_MARKER }, { $set: { families: {} } }, { upsert: true }).exec();
    },

    /**
     * Enters the live sessions saved before the per-user list existed (the
     * marker is `markListsBuilt`); run at start under a lease (startup-build.ts), before identity
     * serves, so that their refreshes find their families. A scan, once. Safe
     * against live writes and against running again after a crash midway:
     * an entry is written only where the family has none (a newer login or
     * refresh has its own).
     */
    async buildLists(now: Date): Promise<number> {
      let entered = 0;
      const live = Session.find({ revokedAt: { $exists: false }, rotatedAt: { $exists: false }, refreshExpiresAt: { $gt: now } }).lean<
        SessionDoc[]
      >();
      for await (const session of live.cursor({ batchSize: 500 })) {
        const entry = familyPath(session.familyId);
        try {
          const result = await UserSessions.updateOne(
            { _id: userSessionsId(session.organizationId, session.userId), [entry]: { $exists: false } },
            { $set: { [entry]: { sessionId: session._id, refreshExpiresAt: session.refreshExpiresAt } } },
            { upsert: true },
          ).exec();
          entered += result.modifiedCount + result.upsertedCount;
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err; // the user's document exists and holds the family
        }
      }
      return entered;
    },

    /** `mySessions`: the session holding each of the user's families, if live, newest first. */
    async listActiveForUser(organizationId: string, userId: string, now: Date): Promise<SessionDoc[]> {
      const entries = Object.values(await readFamilies(userSessionsId(organizationId, userId)));
      if (entries.length === 0) return [];
      const sessions = await Session.find({ _id: { $in: entries.map((entry) => entry.sessionId) }, organizationId, userId })
        .lean<SessionDoc[]>()
        .exec();
      return sessions
        .filter((s) => !s.revokedAt && !s.rotatedAt && s.refreshExpiresAt > now)
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    },
  };
}

export type SessionRepository = ReturnType<typeof createSessionRepository>;
