import { Schema, type Connection } from 'mongoose';

export type UserStatus = 'ACTIVE' | 'PENDING_VERIFICATION' | 'SUSPENDED' | 'CLOSED';

export interface AddressDoc {
  _id?: string;
  description?: string;
  firstName?: string;
  lastName?: string;
  addressLine1?: string;
  addressLine2?: string;
  streetNumber?: string;
  city?: string;
  state?: string;
  stateCode?: string;
  postCode?: string;
  country?: string;
  alpha2?: string;
  type?: string;
}

export interface UserDoc {
  _id: string;
  organizationId: string;
  email: string;
  /** Lower-cased copy: the embedded store has no collation. */
  emailNormalized: string;
  phoneNumber?: string;
  firstName: string;
  lastName: string;
  status: UserStatus;
  organisation?: string;
  taxNumber?: string;
  /** YYYY-MM-DD. */
  dateOfBirth?: string;
  isSubscribed: boolean;
  addresses: AddressDoc[];
  createdAt: Date;
  updatedAt: Date;
  syncedAt?: Date;
  closedAt?: Date;
}

const addressSchema = new Schema<AddressDoc>(
  {
    _id: String,
    description: String,
    firstName: String,
    lastName: String,
    addressLine1: String,
    addressLine2: String,
    streetNumber: String,
    city: String,
    state: String,
    stateCode: String,
    postCode: String,
    country: String,
    alpha2: String,
    type: String,
  },
  { _id: false },
);

const userSchema = new Schema<UserDoc>(
  {
    _id: { type: String, required: true },
    organizationId: { type: String, required: true },
    email: { type: String, required: true },
    emailNormalized: { type: String, required: true },
    phoneNumber: String,
    firstName: { type: String, required: true },
    lastName: { type: String, required: true },
    status: { type: String, required: true },
    organisation: String,
    taxNumber: String,
    dateOfBirth: String,
    isSubscribed: { type: Boolean, required: true, default: false },
    addresses: { type: [addressSchema], default: [] },
    syncedAt: Date,
    closedAt: Date,
  },
  { timestamps: true, versionKey: false, collection: 'users' },
);
userSchema.index({ organizationId: 1, _id: 1 });

/**
 * Users are always read and written inside one organization: every method
 * takes the organization id, so a cross-tenant query cannot be written.
 */
export function createUserRepository(conn: Connection) {
  const User = conn.model<UserDoc>('User', userSchema);
  return {
    async findByIds(organizationId: string, ids: readonly string[]): Promise<UserDoc[]> {
      return User.find({ organizationId, _id: { $in: [...ids] } }).lean<UserDoc[]>().exec();
    },
    findById: (organizationId: string, id: string) =>
      User.findOne({ organizationId, _id: id }).lean<UserDoc>().exec(),
    /** Idempotent: a retried command finds the document it inserted before. */
    async insertOnce(doc: Omit<UserDoc, 'createdAt' | 'updatedAt'>): Promise<UserDoc> {
      try {
        return (await User.create(doc)).toObject();
      } catch (err) {
        const existing = await User.findOne({ organizationId: doc.organizationId, _id: doc._id }).lean<UserDoc>().exec();
        if (existing) return existing;
        throw err;
      }
    },
    setStatus: (organizationId: string, id: string, status: UserStatus) =>
      User.findOneAndUpdate({ organizationId, _id: id }, { $set: { status } }, { new: true }).lean<UserDoc>().exec(),
    async deleteById(organizationId: string, id: string): Promise<void> {
      await User.deleteOne({ organizationId, _id: id }).exec();
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;
