import { Schema, type Connection, type UpdateQuery } from 'mongoose';
import { DomainError } from '@usergraph/service-kit';
import { badUserInputMessage } from '@usergraph/validation';
import type { AuditEvent } from '@usergraph/audit';

/** A saga (or reconcile) holds the profile: the write is refused, to retry. */
export const concurrentChange = () =>
  new DomainError('CONFLICT', 'The user is being created or deleted concurrently, retry', [], { reason: 'CONCURRENT_CHANGE' });

export type UserStatus = 'ACTIVE' | 'PENDING_VERIFICATION' | 'SUSPENDED' | 'CLOSED';

/** Distinct legal agreement versions a profile holds (A's acceptLegalAgreement); a new one past them is refused. */
export const MAX_LEGAL_AGREEMENT_VERSIONS = 100;

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

/** A preference never set is off. */
export const DEFAULT_NOTIFICATION_PREFERENCES: NotificationPreferencesDoc = { email: false, sms: false, push: false };
/** Conditional preference writes read again at most this often under concurrent changes, then answer CONFLICT. */
const PREFERENCE_WRITE_ATTEMPTS = 5;

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
  /** Stored as [] by the schema's default; optional because findById reads through the driver, which fills in no default. */
  addresses?: AddressDoc[];
  createdAt: Date;
  updatedAt: Date;
  syncedAt?: Date;
  closedAt?: Date;
  /** Set when the email is changed; cleared when the user verifies it. No reset code goes to it meanwhile. */
  emailUnverified?: boolean;
  /** D: a copy of identity's username, for search and display; jobTitle is D's. */
  username?: string;
  jobTitle?: string;
  /** Set while the creation saga (@usergraph/user-lifecycle) still writes to the other services; reconcile removes profiles stuck in it. */
  provisioningSince?: Date;
  /** Set once the deletion saga decided to delete the user; reconcile finishes a profile stuck in it. */
  deletingSince?: Date;
  /** The saga holding the marker (or the reconcile run that claimed it): every saga write matches it. */
  sagaId?: string;
  /** Set when reconcile claimed a marked profile (taking its sagaId): the saga that marked it can no longer activate or unmark it. */
  reconcilingSince?: Date;
  // A's consumer profile.
  middleName?: string;
  /** AES-256-GCM sealed (service-kit SecretBox); never decrypted into a response or a log. */
  nationalIdSealed?: string;
  nationalIdLast4?: string;
  visitorId?: string;
  notificationPreferences?: Partial<NotificationPreferencesDoc>;
  legalAgreementVersions?: LegalAgreementDoc[];
  /** Audit events written with the change they describe, until the relay moves them to `audit_events` (packages/audit). */
  auditOutbox?: AuditEvent[];
  /** The deletion saga's `user.deleted` event, set with the mark: moved to `audit_outbox` just before the profile goes. */
  deletionAudit?: AuditEvent;
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
    emailUnverified: Boolean,
    username: String,
    jobTitle: String,
    provisioningSince: Date,
    deletingSince: Date,
    sagaId: String,
    reconcilingSince: Date,
    middleName: String,
    nationalIdSealed: String,
    nationalIdLast4: String,
    visitorId: String,
    notificationPreferences: { email: Boolean, sms: Boolean, push: Boolean },
    legalAgreementVersions: { type: [legalAgreementSchema], default: undefined },
    auditOutbox: { type: [Schema.Types.Mixed], default: undefined },
    deletionAudit: Schema.Types.Mixed,
  },
  { timestamps: true, versionKey: false, collection: 'users' },
);
userSchema.index({ organizationId: 1, _id: 1 });

/**
 * Users are always read and written inside one organization: every method
 * takes the organization id, so a cross-tenant query cannot be written.
 *
 * Every filter holds `_id`, which the embedded store answers from its key;
 * with no `_id` it decodes the whole collection. Reads check the organization
 * on the document read; writes filter on `{ _id, organizationId }`. D's
 * search has its own index: search-index.ts.
 */
/** GraphQL's "no value" (null) is simply not stored. */
export const withoutNulls = (address: Record<string, unknown>): AddressDoc =>
  Object.fromEntries(Object.entries(address).filter(([, v]) => v != null));

/** No saga holds the profile: the user exists (see @usergraph/user-lifecycle). */
const LIVE = { provisioningSince: { $exists: false }, deletingSince: { $exists: false } } as const;
/** A saga holds the profile: listed by no search, editable by no one, unknown to other callers. */
export const isPending = (doc: Pick<UserDoc, 'provisioningSince' | 'deletingSince'>) => Boolean(doc.provisioningSince ?? doc.deletingSince);

export function createUserRepository(conn: Connection) {
  const User = conn.model<UserDoc>('User', userSchema);
  // The model's own collection (the connection keeps one per name), typed for the driver's filters.
  const users = conn.collection<UserDoc>(User.collection.collectionName);

  // The hottest read (a search page makes 20): straight to the driver, which costs
  // a third less CPU than a lean mongoose query and returns the same document.
  async function findById(organizationId: string, id: string): Promise<UserDoc | null> {
    const doc = await users.findOne({ _id: id });
    return doc?.organizationId === organizationId ? doc : null;
  }
  /**
   * Updates the user if it belongs to the organization and no saga holds it
   * (a user being created or deleted is no one's to edit); the updated document, or null.
   */
  function updateInOrganization(
    organizationId: string,
    id: string,
    update: UpdateQuery<UserDoc>,
    only: Record<string, unknown> = {},
  ): Promise<UserDoc | null> {
    return User.findOneAndUpdate({ _id: id, organizationId, ...LIVE, ...only }, update, { new: true })
      .lean<UserDoc>()
      .exec();
  }

  return {
    findById,
    /** One read by `_id: { $in }` (a DataLoader batch is at most a page, a command at most 500 ids): missing and foreign ids are left out. */
    findByIds: async (organizationId: string, ids: readonly string[]): Promise<UserDoc[]> =>
      ids.length === 0 ? [] : users.find({ _id: { $in: [...new Set(ids)] }, organizationId }).toArray(),
    /** Idempotent: a retried command finds the document it inserted before. `inserted` says which happened. */
    async insertOnce(doc: Omit<UserDoc, 'createdAt' | 'updatedAt'>): Promise<{ doc: UserDoc; inserted: boolean }> {
      try {
        return { doc: (await User.create(doc)).toObject(), inserted: true };
      } catch (err) {
        const existing = await findById(doc.organizationId, doc._id);
        // A retried saga write never takes back a profile reconcile claimed (it is being removed).
        if (existing?.reconcilingSince) throw concurrentChange();
        if (existing) return { doc: existing, inserted: false };
        throw err;
      }
    },
    /**
     * Only when the status changes (null otherwise), with its audit event in the same write. Activation applies
     * only to a pending account: a CLOSED or SUSPENDED one is never reopened by it (nor recorded as activated).
     */
    setStatus: (organizationId: string, id: string, status: UserStatus, event: AuditEvent) =>
      updateInOrganization(
        organizationId,
        id,
        { $set: { status }, $push: { auditOutbox: event } },
        { status: status === 'ACTIVE' ? 'PENDING_VERIFICATION' : { $ne: status } },
      ),
    /** With its audit event in the same atomic write. */
    updateFields: (organizationId: string, id: string, set: Record<string, unknown>, unset: string[], event?: AuditEvent) =>
      updateInOrganization(organizationId, id, {
        $set: set,
        ...(unset.length > 0 ? { $unset: Object.fromEntries(unset.map((k) => [k, 1])) } : {}),
        ...(event ? { $push: { auditOutbox: event } } : {}),
      }),
    /** Maintenance (all organizations): profiles whose creation or deletion saga never finished. A scan, run by the reconciler only. */
    stuckInSaga: (kind: 'provisioningSince' | 'deletingSince', before: Date) =>
      User.find({ [kind]: { $lt: before } })
        .select({ _id: 1, organizationId: 1, sagaId: 1 })
        .lean<Array<Pick<UserDoc, '_id' | 'organizationId' | 'sagaId'>>>()
        .exec(),
    /** Maintenance (repair): one organization's users no saga holds (the search index lists only those), streamed by `{ organizationId, _id }`. */
    streamOrganization: (organizationId: string) =>
      User.find({ organizationId, ...LIVE })
        .lean<UserDoc[]>()
        .cursor({ batchSize: 500 }),
    /** Clears the creation marker only while `sagaId` still holds it (reconcile's claim replaces it); the activated profile, or null. */
    finishProvisioning: (organizationId: string, id: string, sagaId: string) =>
      User.findOneAndUpdate(
        { _id: id, organizationId, sagaId, provisioningSince: { $exists: true } },
        { $unset: { provisioningSince: 1, sagaId: 1 } },
        { new: true },
      )
        .lean<UserDoc>()
        .exec(),
    /**
     * Reconcile's claim on a profile stuck in a saga: atomic, and only while the
     * marker is still older than `before` and held by the same saga. Its sagaId
     * becomes reconcile's, so the saga's own activate or unmark no longer match.
     */
    claimStuck: (
      kind: 'provisioningSince' | 'deletingSince',
      p: Pick<UserDoc, '_id' | 'organizationId' | 'sagaId'>,
      before: Date,
      reconcileId: string,
    ) =>
      User.findOneAndUpdate(
        { _id: p._id, organizationId: p.organizationId, [kind]: { $lt: before }, sagaId: p.sagaId ?? { $exists: false } },
        { $set: { sagaId: reconcileId, reconcilingSince: new Date() } },
        { new: true },
      )
        .lean<UserDoc>()
        .exec(),
    /** The deletion saga's marker, set only on a profile no saga holds; the marked profile, or null. */
    markDeleting: (organizationId: string, id: string, sagaId: string, event: AuditEvent) =>
      User.findOneAndUpdate(
        { _id: id, organizationId, ...LIVE },
        { $set: { deletingSince: new Date(), sagaId, deletionAudit: event } },
        { new: true },
      )
        .lean<UserDoc>()
        .exec(),
    /** The profile live again, or null when `sagaId` no longer holds its deletion mark. */
    unmarkDeleting: (organizationId: string, id: string, sagaId: string) =>
      User.findOneAndUpdate(
        { _id: id, organizationId, sagaId, deletingSince: { $exists: true } },
        { $unset: { deletingSince: 1, sagaId: 1, reconcilingSince: 1, deletionAudit: 1 } },
        { new: true },
      )
        .lean<UserDoc>()
        .exec(),
    /** The deleted profile, or null when there was none (so its index entries are removed once). */
    deleteById: (organizationId: string, id: string): Promise<UserDoc | null> =>
      User.findOneAndDelete({ _id: id, organizationId }).lean<UserDoc>().exec(),
    markSynced: (organizationId: string, id: string, at: Date, event: AuditEvent) =>
      updateInOrganization(organizationId, id, { $set: { syncedAt: at }, $push: { auditOutbox: event } }),
    /**
     * Appends the version (with its event) unless the user accepted it already: of concurrent accepts, one writes.
     * A profile holds at most MAX_LEGAL_AGREEMENT_VERSIONS (issue 17: a fresh version per call grew it without bound).
     */
    async addLegalAgreement(organizationId: string, id: string, version: string, at: Date, event: AuditEvent): Promise<UserDoc | null> {
      const written = await updateInOrganization(
        organizationId,
        id,
        { $push: { legalAgreementVersions: { version, acceptedAt: at }, auditOutbox: event } },
        {
          'legalAgreementVersions.version': { $ne: version },
          [`legalAgreementVersions.${MAX_LEGAL_AGREEMENT_VERSIONS - 1}`]: { $exists: false },
        },
      );
      if (written) return written;
      const doc = await findById(organizationId, id);
      if (!doc || isPending(doc)) return null;
      const accepted = doc.legalAgreementVersions ?? [];
      if (!accepted.some((a) => a.version === version) && accepted.length >= MAX_LEGAL_AGREEMENT_VERSIONS) {
        // As parseInput words A's bad input: "Invalid input: version cannot be added: …".
        const errors = [
          { path: ['version'], message: `cannot be added: a user accepts at most ${MAX_LEGAL_AGREEMENT_VERSIONS} agreement versions` },
        ];
        throw new DomainError('BAD_USER_INPUT', badUserInputMessage(errors), errors);
      }
      return doc;
    },
    /**
     * Sets only the preferences given; writes (with its event, naming the preferences that change) only when
     * one changes. `event` is asked for those names. The write is conditioned on the values read, so a
     * concurrent change is neither lost nor recorded twice: on no match it reads again (a bounded number of times).
     */
    async setNotificationPreferences(
      organizationId: string,
      id: string,
      prefs: Partial<NotificationPreferencesDoc>,
      event: (changed: string[]) => AuditEvent,
    ): Promise<{ doc: UserDoc | null; written: boolean }> {
      for (let attempt = 0; attempt < PREFERENCE_WRITE_ATTEMPTS; attempt++) {
        const doc = await findById(organizationId, id);
        if (!doc || isPending(doc)) return { doc: null, written: false };
        const current: Partial<NotificationPreferencesDoc> = doc.notificationPreferences ?? {};
        const given = Object.entries(prefs) as Array<[keyof NotificationPreferencesDoc, boolean]>;
        const changed = given.filter(([k, v]) => (current[k] ?? DEFAULT_NOTIFICATION_PREFERENCES[k]) !== v);
        if (changed.length === 0) return { doc, written: false };
        // Each given preference still holds what was read (absent stays absent).
        const unchanged = Object.fromEntries(given.map(([k]) => [`notificationPreferences.${k}`, current[k] ?? { $exists: false }]));
        const written = await updateInOrganization(
          organizationId,
          id,
          {
            $set: Object.fromEntries(changed.map(([k, v]) => [`notificationPreferences.${k}`, v])),
            $push: { auditOutbox: event(changed.map(([k]) => `notificationPreferences.${k}`)) },
          },
          unchanged,
        );
        if (written) return { doc: written, written: true };
      }
      throw new DomainError('CONFLICT', 'The preferences are being changed concurrently, retry', [], { reason: 'CONCURRENT_CHANGE' });
    },
    /** Clears the unverified mark (with its event), only while the email is still the one verified and was unverified. */
    markEmailVerified: (organizationId: string, id: string, emailNormalized: string, event: AuditEvent) =>
      User.findOneAndUpdate(
        { _id: id, organizationId, emailNormalized, emailUnverified: true },
        { $unset: { emailUnverified: 1 }, $push: { auditOutbox: event } },
        { new: true },
      )
        .lean<UserDoc>()
        .exec(),
    /** Whether the user's email is `emailNormalized` (verified or not). */
    hasEmail: async (organizationId: string, id: string, emailNormalized: string) =>
      (await findById(organizationId, id))?.emailNormalized === emailNormalized,
    /**
     * Closes an account that is not CLOSED, with `closedAt` and its event in the same write; closing a
     * CLOSED account changes nothing and writes no event (repeats and races: one of them closes).
     */
    async close(organizationId: string, id: string, at: Date, event: AuditEvent): Promise<UserDoc | null> {
      const closed = await User.findOneAndUpdate(
        { _id: id, organizationId, ...LIVE, status: { $ne: 'CLOSED' } },
        { $set: { status: 'CLOSED', closedAt: at }, $push: { auditOutbox: event } },
        { new: true },
      )
        .lean<UserDoc>()
        .exec();
      if (closed) return closed;
      const current = await findById(organizationId, id);
      return current?.status === 'CLOSED' && !isPending(current) ? current : null;
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;
