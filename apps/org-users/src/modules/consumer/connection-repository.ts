import { Schema, Types, type Connection, type FilterQuery } from 'mongoose';
import type { AuditEvent } from '@usergraph/audit';
import type { UserScope } from '../../access-policy.js';
import type { ConnectionStatus } from './consumer-inputs.js';
import { findPage, type PageArgs } from '../../pagination.js';

export interface ConnectionDoc {
  _id: string;
  organizationId: string;
  userId: string;
  institutionName: string;
  /** Lower-cased copy for the case-insensitive filter: the embedded store has no collation. */
  institutionNameNormalized: string;
  status: ConnectionStatus;
  lastSyncedAt?: Date;
  createdAt: Date;
  updatedAt: Date;
  auditOutbox?: AuditEvent[];
}

export interface ConnectionFilter {
  status?: ConnectionStatus[] | undefined;
  institutionName?: string | null | undefined;
}

const connectionSchema = new Schema<ConnectionDoc>(
  {
    _id: { type: String, required: true },
    organizationId: { type: String, required: true },
    userId: { type: String, required: true },
    institutionName: { type: String, required: true },
    institutionNameNormalized: { type: String, required: true },
    status: { type: String, required: true },
    lastSyncedAt: Date,
    /** Its `connection.recorded` event, inserted with it, until relayed (packages/audit). */
    auditOutbox: { type: [Schema.Types.Mixed], default: undefined },
  },
  { timestamps: true, versionKey: false, collection: 'connections' },
);
connectionSchema.index({ organizationId: 1, userId: 1, _id: 1 });

const normalize = (name: string) => name.toLowerCase();

/** A user's financial-institution connections: every method takes the organization and the user. */
export function createConnectionRepository(conn: Connection) {
  const Model = conn.model<ConnectionDoc>('FinancialInstitutionConnection', connectionSchema);
  const scoped = (scope: UserScope): FilterQuery<ConnectionDoc> => ({ organizationId: scope.organizationId, userId: scope.userId });

  return {
    /** With its event (`event(id)`) in the same insert. */
    async insert(
      scope: UserScope,
      fields: { institutionName: string; status: ConnectionStatus },
      event: (id: string) => AuditEvent,
    ): Promise<ConnectionDoc> {
      const _id = new Types.ObjectId().toHexString();
      const created = await Model.create({
        _id,
        auditOutbox: [event(_id)],
        organizationId: scope.organizationId,
        userId: scope.userId,
        institutionName: fields.institutionName,
        institutionNameNormalized: normalize(fields.institutionName),
        status: fields.status,
      });
      return created.toObject();
    },
    findById: (scope: UserScope, id: string) =>
      Model.findOne({ ...scoped(scope), _id: id })
        .lean<ConnectionDoc>()
        .exec(),
    page<T>(scope: UserScope, filter: ConnectionFilter, args: PageArgs, toNode: (doc: ConnectionDoc) => T) {
      return findPage(
        Model,
        {
          ...scoped(scope),
          ...(filter.status ? { status: { $in: filter.status } } : {}),
          ...(filter.institutionName ? { institutionNameNormalized: normalize(filter.institutionName) } : {}),
        },
        args,
        toNode,
      );
    },
    async markSynced(scope: UserScope, at: Date): Promise<void> {
      await Model.updateMany(scoped(scope), { $set: { lastSyncedAt: at } }).exec();
    },
  };
}

export type ConnectionRepository = ReturnType<typeof createConnectionRepository>;
