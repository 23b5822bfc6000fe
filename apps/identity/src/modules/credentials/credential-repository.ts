import { Schema, type Connection } from 'mongoose';
import type { AuditEvent } from '@usergraph/audit';

export interface CredentialDoc {
  /** The user id. */
  _id: string;
  organizationId: string;
  passwordHash: string;
  username?: string;
  /** Audit events of password changes and resets, until the relay moves them to org-users' log. */
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
    auditOutbox: { type: [Schema.Types.Mixed], default: undefined },
  },
  { timestamps: true, versionKey: false, collection: 'credentials' },
);
credentialSchema.index({ organizationId: 1, _id: 1 });

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
      Credential.find({ createdAt: { $lt: before } })
        .select({ organizationId: 1 })
        .lean<Array<Pick<CredentialDoc, '_id' | 'organizationId'>>>()
        .exec(),
    async deleteById(organizationId: string, userId: string): Promise<void> {
      await Credential.deleteOne({ _id: userId, organizationId }).exec();
    },
    /** With its audit event in the same atomic write. */
    async setPasswordHash(organizationId: string, userId: string, passwordHash: string, event: AuditEvent): Promise<void> {
      await Credential.updateOne({ _id: userId, organizationId }, { $set: { passwordHash }, $push: { auditOutbox: event } }).exec();
    },
  };
}

export type CredentialRepository = ReturnType<typeof createCredentialRepository>;
