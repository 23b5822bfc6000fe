import { Schema, type Connection } from 'mongoose';

export interface CredentialDoc {
  /** The user id. */
  _id: string;
  organizationId: string;
  passwordHash: string;
  username?: string;
  createdAt: Date;
  updatedAt: Date;
}

const credentialSchema = new Schema<CredentialDoc>(
  {
    _id: String,
    organizationId: { type: String, required: true },
    passwordHash: { type: String, required: true },
    username: String,
  },
  { timestamps: true, versionKey: false, collection: 'credentials' },
);
credentialSchema.index({ organizationId: 1, _id: 1 });

/**
 * Every method takes the organization. FerretDB's SQLite backend answers only
 * an exact `{ _id }` filter by key (any other filter decodes the whole
 * collection), so a credential is read by `_id` and its organization checked
 * here: another tenant's credential is "not found". Writes read first, then
 * write by `_id` (a credential's organization never changes).
 */
export function createCredentialRepository(conn: Connection) {
  const Credential = conn.model<CredentialDoc>('Credential', credentialSchema);

  async function findById(organizationId: string, userId: string): Promise<CredentialDoc | null> {
    const doc = await Credential.findOne({ _id: userId }).lean<CredentialDoc>().exec();
    return doc?.organizationId === organizationId ? doc : null;
  }

  return {
    findById,
    /** One `_id` read per id, in parallel (a DataLoader batch is at most a page): missing and foreign ids are left out. */
    async findByIds(organizationId: string, userIds: readonly string[]): Promise<CredentialDoc[]> {
      const docs = await Promise.all([...new Set(userIds)].map((id) => findById(organizationId, id)));
      return docs.filter((d): d is CredentialDoc => d !== null);
    },
    /** Idempotent for a retried command: an existing credential for the same user is kept. */
    async insertOnce(doc: Omit<CredentialDoc, 'createdAt' | 'updatedAt'>): Promise<void> {
      try {
        await Credential.create(doc);
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
      }
    },
    /** Maintenance (all organizations): credentials created before `before`, for reconciliation. A scan, run by the reconciler only. */
    createdBefore: (before: Date) =>
      Credential.find({ createdAt: { $lt: before } }).select({ organizationId: 1 }).lean<Pick<CredentialDoc, '_id' | 'organizationId'>[]>().exec(),
    async deleteById(organizationId: string, userId: string): Promise<void> {
      if (await findById(organizationId, userId)) await Credential.deleteOne({ _id: userId }).exec();
    },
    async setPasswordHash(organizationId: string, userId: string, passwordHash: string): Promise<void> {
      if (await findById(organizationId, userId)) await Credential.updateOne({ _id: userId }, { $set: { passwordHash } }).exec();
    },
  };
}

export type CredentialRepository = ReturnType<typeof createCredentialRepository>;
