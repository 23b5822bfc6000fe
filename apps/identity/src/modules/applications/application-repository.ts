import { Schema, type Connection } from 'mongoose';
import type { AuditEvent } from '@usergraph/audit';

export interface ApplicationDoc {
  /** The OAuth client id. */
  _id: string;
  organizationId: string;
  name: string;
  status: 'ACTIVE' | 'INACTIVE';
  permissions: string[];
  /** SHA-256 of the client secret: secrets are 256-bit random, so a slow hash adds nothing. */
  secretHash: string;
  /** Audit events of the application's creation and changes, until the relay moves them to org-users' log. */
  auditOutbox?: AuditEvent[];
  createdAt: Date;
  updatedAt: Date;
}

const applicationSchema = new Schema<ApplicationDoc>(
  {
    _id: String,
    organizationId: { type: String, required: true },
    name: { type: String, required: true },
    status: { type: String, required: true },
    permissions: { type: [String], default: [] },
    secretHash: { type: String, required: true },
    auditOutbox: { type: [Schema.Types.Mixed], default: undefined },
  },
  { timestamps: true, versionKey: false, collection: 'applications' },
);
applicationSchema.index({ organizationId: 1 });

export function createApplicationRepository(conn: Connection) {
  const Application = conn.model<ApplicationDoc>('Application', applicationSchema);
  return {
    insert: async (doc: Omit<ApplicationDoc, 'createdAt' | 'updatedAt'>) => (await Application.create(doc)).toObject(),
    /** Client ids are globally unique; callers check the organization themselves where one is given. */
    findByClientId: (clientId: string) => Application.findOne({ _id: clientId }).lean<ApplicationDoc>().exec(),
    /** Through the `organizationId` index: admins listing their applications (few per organization). */
    listForOrganization: (organizationId: string) =>
      Application.find({ organizationId }).sort({ createdAt: 1 }).lean<ApplicationDoc[]>().exec(),
    /** Null when the application is not the organization's. With its audit event in the same atomic write. */
    update: (
      organizationId: string,
      clientId: string,
      set: Partial<Pick<ApplicationDoc, 'status' | 'permissions' | 'secretHash' | 'name'>>,
      event: AuditEvent,
    ) =>
      Application.findOneAndUpdate({ _id: clientId, organizationId }, { $set: set, $push: { auditOutbox: event } }, { new: true })
        .lean<ApplicationDoc>()
        .exec(),
  };
}

export type ApplicationRepository = ReturnType<typeof createApplicationRepository>;
