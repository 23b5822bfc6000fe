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

/** Every read and write names the organization: a cross-tenant query cannot be written. */
export function createCredentialRepository(conn: Connection) {
  const Credential = conn.model<CredentialDoc>('Credential', credentialSchema);
  return {
    findById: (organizationId: string, userId: string) =>
      Credential.findOne({ organizationId, _id: userId }).lean<CredentialDoc>().exec(),
    findByIds: (organizationId: string, userIds: readonly string[]) =>
      Credential.find({ organizationId, _id: { $in: [...userIds] } }).lean<CredentialDoc[]>().exec(),
    /** Idempotent for a retried command: an existing credential for the same user is kept. */
    async insertOnce(doc: Omit<CredentialDoc, 'createdAt' | 'updatedAt'>): Promise<void> {
      try {
        await Credential.create(doc);
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
      }
    },
    /** Maintenance (all organizations): credentials created before `before`, for reconciliation. */
    createdBefore: (before: Date) =>
      Credential.find({ createdAt: { $lt: before } }).select({ organizationId: 1 }).lean<Pick<CredentialDoc, '_id' | 'organizationId'>[]>().exec(),
    async deleteById(organizationId: string, userId: string): Promise<void> {
      await Credential.deleteOne({ organizationId, _id: userId }).exec();
    },
    async setPasswordHash(organizationId: string, userId: string, passwordHash: string): Promise<void> {
      await Credential.updateOne({ organizationId, _id: userId }, { $set: { passwordHash } }).exec();
    },
  };
}

export type CredentialRepository = ReturnType<typeof createCredentialRepository>;
