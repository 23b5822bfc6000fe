import { Schema, type Connection } from 'mongoose';
import { findPage, type PageArgs } from '../../pagination.js';

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

export interface NotificationPreferencesDoc {
  email: boolean;
  sms: boolean;
  push: boolean;
}

export interface LegalAgreementDoc {
  version: string;
  acceptedAt: Date;
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
  /** D: a copy of identity's username, for search and display; jobTitle is D's. */
  username?: string;
  jobTitle?: string;
  /** Lower-cased prefixes for D's search (see search-tokens.ts). */
  searchTokens: string[];
  /** Set while D's createUser is still writing to the other services; the reconciler removes profiles stuck in it. */
  provisioningSince?: Date;
  // A's consumer profile.
  middleName?: string;
  /** AES-256-GCM sealed (service-kit SecretBox); never decrypted into a response or a log. */
  nationalIdSealed?: string;
  nationalIdLast4?: string;
  visitorId?: string;
  notificationPreferences?: Partial<NotificationPreferencesDoc>;
  legalAgreementVersions?: LegalAgreementDoc[];
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

const legalAgreementSchema = new Schema<LegalAgreementDoc>(
  { version: { type: String, required: true }, acceptedAt: { type: Date, required: true } },
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
    username: String,
    jobTitle: String,
    searchTokens: { type: [String], default: [] },
    provisioningSince: Date,
    middleName: String,
    nationalIdSealed: String,
    nationalIdLast4: String,
    visitorId: String,
    notificationPreferences: { email: Boolean, sms: Boolean, push: Boolean },
    legalAgreementVersions: { type: [legalAgreementSchema], default: undefined },
  },
  { timestamps: true, versionKey: false, collection: 'users' },
);
userSchema.index({ organizationId: 1, _id: 1 });
// D's search: an equality match on one token within one organization, in _id order.
userSchema.index({ organizationId: 1, searchTokens: 1, _id: 1 });

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
    /** D's users/members: one page of the organization's users matching a search token (all when empty). */
    searchPage: (organizationId: string, token: string, page: PageArgs) =>
      findPage(User, token ? { organizationId, searchTokens: token } : { organizationId }, page, (doc: UserDoc) => doc),
    updateFields: (organizationId: string, id: string, set: Record<string, unknown>, unset: string[]) =>
      User.findOneAndUpdate(
        { organizationId, _id: id },
        { $set: set, ...(unset.length > 0 ? { $unset: Object.fromEntries(unset.map((k) => [k, 1])) } : {}) },
        { new: true },
      ).lean<UserDoc>().exec(),
    /** Maintenance (all organizations): profiles whose creation never finished. */
    stuckInProvisioning: (before: Date) =>
      User.find({ provisioningSince: { $lt: before } }).select({ _id: 1, organizationId: 1 }).lean<Pick<UserDoc, '_id' | 'organizationId'>[]>().exec(),
    async finishProvisioning(organizationId: string, id: string): Promise<void> {
      await User.updateOne({ organizationId, _id: id }, { $unset: { provisioningSince: 1 } }).exec();
    },
    async deleteById(organizationId: string, id: string): Promise<void> {
      await User.deleteOne({ organizationId, _id: id }).exec();
    },
    markSynced: (organizationId: string, id: string, at: Date) =>
      User.findOneAndUpdate({ organizationId, _id: id }, { $set: { syncedAt: at } }, { new: true }).lean<UserDoc>().exec(),
    /** Appends the version unless the user accepted it already: one conditional update, so concurrent calls add it once. */
    async addLegalAgreement(organizationId: string, id: string, version: string, at: Date): Promise<UserDoc | null> {
      const updated = await User.findOneAndUpdate(
        { organizationId, _id: id, 'legalAgreementVersions.version': { $ne: version } },
        { $push: { legalAgreementVersions: { version, acceptedAt: at } } },
        { new: true },
      ).lean<UserDoc>().exec();
      return updated ?? User.findOne({ organizationId, _id: id }).lean<UserDoc>().exec();
    },
    /** Sets only the preferences given. */
    setNotificationPreferences(organizationId: string, id: string, prefs: Partial<NotificationPreferencesDoc>) {
      const $set = Object.fromEntries(Object.entries(prefs).map(([k, v]) => [`notificationPreferences.${k}`, v]));
      if (Object.keys($set).length === 0) return User.findOne({ organizationId, _id: id }).lean<UserDoc>().exec();
      return User.findOneAndUpdate({ organizationId, _id: id }, { $set }, { new: true }).lean<UserDoc>().exec();
    },
    /** Closes once: a second call finds the account closed and leaves closedAt as it was. */
    async close(organizationId: string, id: string, at: Date): Promise<UserDoc | null> {
      const updated = await User.findOneAndUpdate(
        { organizationId, _id: id, closedAt: { $exists: false } },
        { $set: { closedAt: at, status: 'CLOSED' } },
        { new: true },
      ).lean<UserDoc>().exec();
      return updated ?? User.findOne({ organizationId, _id: id }).lean<UserDoc>().exec();
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;
