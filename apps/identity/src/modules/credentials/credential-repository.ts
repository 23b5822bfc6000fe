import { Schema, type Connection } from 'mongoose';
import type { AuditEvent } from '@usergraph/audit';

export interface CredentialDoc {
  /** The user id. */
  _id: string;
  organizationId: string;
  passwordHash: string;
  username?: string;
  /**
   * The session cut-off: a session stands only if it was issued under this generation or a later one
   * (`SessionDoc.credentialsGeneration`), or belongs to `keptFamilyId`. A password change or reset, or
   * "sign out everywhere", raises it in the same write as the change, so no crash can leave old sessions
   * standing; revoking them one by one afterwards is cleanup. Absent: 0.
   */
  sessionsGeneration?: number;
  /** The login (session family) a password change was made from: it stays signed in. */
  keptFamilyId?: string;
  /** Audit events of password changes, resets and session revocations, until the relay moves them to org-users' log. */
  auditOutbox?: AuditEvent[];
  createdAt: Date;
  updatedAt: Date;
}

const credentialSchema = new Schema<CredentialDoc>(
  {
    _id: String,
    organizationId: { type: String, required: true },
    passwordHash: { type: String, required: true },
    username: String,
    sessionsGeneration: Number,
    keptFamilyId: String,
    auditOutbox: { type: [Schema.Types.Mixed], default: undefined },
  },
  { timestamps: true, versionKey: false, collection: 'credentials' },
);
credentialSchema.index({ organizationId: 1, _id: 1 });

/** Whether a session still stands under its user's credentials' cut-off (see `sessionsGeneration`). */
export function sessionStands(
  session: { familyId: string; credentialsGeneration?: number },
  credential: Pick<CredentialDoc, 'sessionsGeneration' | 'keptFamilyId'>,
): boolean {
  return (session.credentialsGeneration ?? 0) >= (credential.sessionsGeneration ?? 0) || session.familyId === credential.keptFamilyId;
}

/**
 * Whether the caller's session (read by its id) still stands: the caller's own (user and organization), not
 * revoked, and not cut off by the credentials (sessionStands). One check for liveness, changePassword and
 * revokeAllSessions.
 */
export function callerSessionStands<
  S extends { userId: string; organizationId: string; revokedAt?: Date | null; familyId: string; credentialsGeneration?: number },
>(
  session: S | null,
  caller: { organizationId: string; userId: string },
  credential: Pick<CredentialDoc, 'sessionsGeneration' | 'keptFamilyId'> | null,
): session is S {
  return (
    session !== null &&
    credential !== null &&
    session.userId === caller.userId &&
    session.organizationId === caller.organizationId &&
    !session.revokedAt &&
    sessionStands(session, credential)
  );
}

/**
 * Every method takes the organization. Every filter holds `_id`, which the
 * embedded store answers from its key (with no `_id` it decodes the whole
 * collection): reads check the organization on the document read, writes
 * filter on `{ _id, organizationId }`. Another tenant's credential is "not found".
 */
export function createCredentialRepository(conn: Connection) {
  const Credential = conn.model<CredentialDoc>('Credential', credentialSchema);

  async function findById(organizationId: string, userId: string): Promise<CredentialDoc | null> {
    const doc = await Credential.findOne({ _id: userId }).lean<CredentialDoc>().exec();
    return doc?.organizationId === organizationId ? doc : null;
  }

  return {
    findById,
    /** One read by `_id: { $in }` (a DataLoader batch is at most a page): missing and foreign ids are left out. */
    findByIds: (organizationId: string, userIds: readonly string[]): Promise<CredentialDoc[]> =>
      Credential.find({ _id: { $in: [...new Set(userIds)] }, organizationId })
        .lean<CredentialDoc[]>()
        .exec(),
    /** Idempotent for a retried command: an existing credential for the same user is kept. False if one existed (nothing written). */
    async insertOnce(doc: Omit<CredentialDoc, 'createdAt' | 'updatedAt'>): Promise<boolean> {
      try {
        await Credential.create(doc);
        return true;
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
        return false;
      }
    },
    /** Maintenance (all organizations): credentials created before `before`, for reconciliation. A scan, run by the reconciler only. */
    createdBefore: (before: Date) =>
      Credential.find({ createdAt: { $lt: before } })
        .select({ organizationId: 1 })
        .lean<Array<Pick<CredentialDoc, '_id' | 'organizationId'>>>()
        .exec(),
    async deleteById(organizationId: string, userId: string): Promise<void> {
      await Credential.deleteOne({ _id: userId, organizationId }).exec();
    },
    /**
     * A new password, ending every session issued before it except the login `keepFamilyId` (the
     * changer's own), with its audit events: one atomic write, made only if the credential is still the
     * one `read` (same hash and generation; a compare-and-set, so a concurrent change or reset is never
     * overwritten). False if nothing was written: no such credential, or it changed since it was read.
     */
    async setPasswordHash(
      organizationId: string,
      userId: string,
      read: Pick<CredentialDoc, 'passwordHash' | 'sessionsGeneration'>,
      passwordHash: string,
      events: AuditEvent[],
      keepFamilyId?: string,
    ): Promise<boolean> {
      const generation = read.sessionsGeneration ?? 0;
      const result = await Credential.updateOne(
        {
          _id: userId,
          organizationId,
          passwordHash: read.passwordHash,
          // Absent means 0 (never raised).
          sessionsGeneration: generation === 0 ? { $exists: false } : generation,
        },
        {
          $set: { passwordHash, ...(keepFamilyId ? { keptFamilyId: keepFamilyId } : {}) },
          ...(keepFamilyId ? {} : { $unset: { keptFamilyId: 1 } }),
          $inc: { sessionsGeneration: 1 },
          $push: { auditOutbox: { $each: events } },
        },
      ).exec();
      return result.modifiedCount === 1;
    },
    /**
     * "Sign out everywhere": every session issued so far ends, with its audit event, in one write, made only
     * if the credential is still at the generation read (the caller's session stood under it). False if there
     * is no credential, or another cut-off came first (it ended the caller's session: nothing more to end).
     */
    async endAllSessions(
      organizationId: string,
      userId: string,
      read: Pick<CredentialDoc, 'sessionsGeneration'>,
      event: AuditEvent,
    ): Promise<boolean> {
      const generation = read.sessionsGeneration ?? 0;
      const result = await Credential.updateOne(
        // Absent means 0 (never raised).
        { _id: userId, organizationId, sessionsGeneration: generation === 0 ? { $exists: false } : generation },
        { $inc: { sessionsGeneration: 1 }, $unset: { keptFamilyId: 1 }, $push: { auditOutbox: event } },
      ).exec();
      return result.matchedCount === 1;
    },
  };
}

export type CredentialRepository = ReturnType<typeof createCredentialRepository>;
