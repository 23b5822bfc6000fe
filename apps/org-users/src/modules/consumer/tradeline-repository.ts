import { Schema, Types, type Connection, type FilterQuery } from 'mongoose';
import type { AuditEvent } from '@usergraph/audit';
import type { UserScope } from '../../access-policy.js';
import type { TradelineStatus } from './consumer-inputs.js';
import { findPage, type PageArgs } from '../../pagination.js';

export interface TradelineDoc {
  _id: string;
  organizationId: string;
  userId: string;
  connectionId: string;
  /** Upper-case code, e.g. CREDIT_CARD. */
  accountType: string;
  creditorName: string;
  /** Decimal string: amounts are never floating-point. */
  balanceAmount: string;
  currency: string;
  /** YYYY-MM-DD. */
  openedOn?: string;
  status: TradelineStatus;
  createdAt: Date;
  updatedAt: Date;
  auditOutbox?: AuditEvent[];
}

export type NewTradeline = Omit<TradelineDoc, '_id' | 'organizationId' | 'userId' | 'createdAt' | 'updatedAt' | 'auditOutbox'>;

export interface TradelineFilter {
  connectionId?: string | null | undefined;
  accountType?: string[] | undefined;
}

const tradelineSchema = new Schema<TradelineDoc>(
  {
    _id: { type: String, required: true },
    organizationId: { type: String, required: true },
    userId: { type: String, required: true },
    connectionId: { type: String, required: true },
    accountType: { type: String, required: true },
    creditorName: { type: String, required: true },
    balanceAmount: { type: String, required: true },
    currency: { type: String, required: true },
    openedOn: String,
    status: { type: String, required: true },
    /** Its `tradeline.recorded` event, inserted with it, until relayed (packages/audit). */
    auditOutbox: { type: [Schema.Types.Mixed], default: undefined },
  },
  { timestamps: true, versionKey: false, collection: 'tradelines' },
);
tradelineSchema.index({ organizationId: 1, userId: 1, _id: 1 });

/** A user's tradelines: every method takes the organization and the user. */
export function createTradelineRepository(conn: Connection) {
  const Model = conn.model<TradelineDoc>('Tradeline', tradelineSchema);
  const scoped = (scope: UserScope): FilterQuery<TradelineDoc> => ({ organizationId: scope.organizationId, userId: scope.userId });

  return {
    /** With its event (`event(id)`) in the same insert. */
    async insert(scope: UserScope, fields: NewTradeline, event: (id: string) => AuditEvent): Promise<TradelineDoc> {
      const _id = new Types.ObjectId().toHexString();
      const created = await Model.create({
        _id,
        auditOutbox: [event(_id)],
        organizationId: scope.organizationId,
        userId: scope.userId,
        ...fields,
      });
      return created.toObject();
    },
    page<T>(scope: UserScope, filter: TradelineFilter, args: PageArgs, toNode: (doc: TradelineDoc) => T) {
      return findPage(
        Model,
        {
          ...scoped(scope),
          ...(filter.connectionId ? { connectionId: filter.connectionId } : {}),
          ...(filter.accountType ? { accountType: { $in: filter.accountType } } : {}),
        },
        args,
        toNode,
      );
    },
  };
}

export type TradelineRepository = ReturnType<typeof createTradelineRepository>;
