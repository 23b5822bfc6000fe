import { Schema, type Connection } from 'mongoose';
import type { AuditEvent } from '@usergraph/audit';

export interface OrganizationDoc {
  _id: string;
  slug: string;
  name: string;
  status: 'ACTIVE' | 'SUSPENDED';
  selfSignup: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** Its `organization.created` event, inserted with it, until relayed (packages/audit). */
  auditOutbox?: AuditEvent[];
}

const organizationSchema = new Schema<OrganizationDoc>(
  {
    _id: { type: String, required: true },
    slug: { type: String, required: true, index: true },
    name: { type: String, required: true },
    status: { type: String, required: true, enum: ['ACTIVE', 'SUSPENDED'] },
    selfSignup: { type: Boolean, required: true },
    auditOutbox: { type: [Schema.Types.Mixed], default: undefined },
  },
  { timestamps: true, versionKey: false, collection: 'organizations' },
);

/** Organizations are the tenants themselves, so this repository is the one not scoped by one. */
export function createOrganizationRepository(conn: Connection) {
  const Organization = conn.model<OrganizationDoc>('Organization', organizationSchema);
  return {
    /** Maintenance (repair): the next `limit` organization ids after `afterId`, in `_id` order. */
    pageIds: async (afterId: string, limit: number): Promise<string[]> =>
      (
        await Organization.find({ _id: { $gt: afterId } })
          .sort({ _id: 1 })
          .limit(limit)
          .select({ _id: 1 })
          .lean<Array<{ _id: string }>>()
          .exec()
      ).map((o) => o._id),
    findById: (id: string) => Organization.findById(id).lean<OrganizationDoc>().exec(),
    async insert(doc: Omit<OrganizationDoc, 'createdAt' | 'updatedAt'>): Promise<OrganizationDoc> {
      const created = await Organization.create(doc);
      return created.toObject();
    },
    setSelfSignup: (id: string, selfSignup: boolean) =>
      Organization.findByIdAndUpdate(id, { $set: { selfSignup } }, { new: true }).lean<OrganizationDoc>().exec(),
  };
}

export type OrganizationRepository = ReturnType<typeof createOrganizationRepository>;
