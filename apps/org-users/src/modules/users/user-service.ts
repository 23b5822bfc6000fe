import { z } from 'zod';
import type { Connection } from 'mongoose';
import { claimAll, findClaimOwner, releaseClaim, releaseStaleClaims } from '@usergraph/mongo';
import { normalizeEmail } from '@usergraph/validation';
import { DomainError, logUndoFailure, type Logger } from '@usergraph/service-kit';
import { auditEvent, type AuditEvent, type AuditOrigin, type AuditOutbox, type NewAuditEvent } from '@usergraph/audit';
import { encodeCursor, pageArgsShape, type Page, type PageArgs } from '../../pagination.js';
import type { SearchIndex } from './search-index.js';
import { matchesQuery, normalizeQuery, searchValuesOf } from './search-tokens.js';
import {
  concurrentChange,
  DEFAULT_NOTIFICATION_PREFERENCES,
  isPending,
  type AddressDoc,
  type LegalAgreementDoc,
  type NotificationPreferencesDoc,
  type UserDoc,
  type UserRepository,
  type UserStatus,
} from './user-repository.js';

/** The profile as the GraphQL `User` type and other services see it. */
export interface ProfileDto {
  id: string;
  organizationId: string;
  email: string;
  phoneNumber: string | null;
  firstName: string;
  lastName: string;
  name: string;
  status: UserStatus;
  organisation: string | null;
  taxNumber: string | null;
  dateOfBirth: string | null;
  isSubscribed: boolean;
  addresses: AddressDoc[];
  createdAt: string;
  updatedAt: string;
  syncedAt: string | null;
  closedAt: string | null;
  /** False once the email was changed and the user has not verified it yet (identity sends no reset code to it). */
  emailVerified: boolean;
  /** A creation or deletion saga holds the profile: not a user yet, or no longer one (identity issues it no session). */
  pending: 'PROVISIONING' | 'DELETING' | null;
  jobTitle: string | null;
  // A's consumer profile. Only the national ID's last four digits ever leave this service.
  legalName: { first: string; middle: string | null; last: string };
  nationalIdLast4: string | null;
  visitorId: string | null;
  notificationPreferences: NotificationPreferencesDoc;
  legalAgreementVersions: Array<{ version: string; acceptedAt: string }>;
}

/** Opt-in: nothing is sent until the user says so (A: notifications are not sent at all yet). */
export { DEFAULT_NOTIFICATION_PREFERENCES };

export function toProfileDto(doc: UserDoc): ProfileDto {
  return {
    id: doc._id,
    organizationId: doc.organizationId,
    email: doc.email,
    phoneNumber: doc.phoneNumber ?? null,
    firstName: doc.firstName,
    lastName: doc.lastName,
    name: `${doc.firstName} ${doc.lastName}`,
    status: doc.status,
    organisation: doc.organisation ?? null,
    taxNumber: doc.taxNumber ?? null,
    dateOfBirth: doc.dateOfBirth ?? null,
    isSubscribed: doc.isSubscribed,
    addresses: doc.addresses ?? [],
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
    syncedAt: doc.syncedAt?.toISOString() ?? null,
    closedAt: doc.closedAt?.toISOString() ?? null,
    emailVerified: !doc.emailUnverified,
    pending: doc.provisioningSince ? 'PROVISIONING' : doc.deletingSince ? 'DELETING' : null,
    legalName: { first: doc.firstName, middle: doc.middleName ?? null, last: doc.lastName },
    jobTitle: doc.jobTitle ?? null,
    nationalIdLast4: doc.nationalIdLast4 ?? null,
    visitorId: doc.visitorId ?? null,
    notificationPreferences: { ...DEFAULT_NOTIFICATION_PREFERENCES, ...doc.notificationPreferences },
    legalAgreementVersions: firstAcceptances(doc.legalAgreementVersions ?? []).map((a) => ({
      version: a.version,
      acceptedAt: a.acceptedAt.toISOString(),
    })),
  };
}

/** Each version once, at its first acceptance (two racing acceptances may both be stored). */
function firstAcceptances(agreements: LegalAgreementDoc[]): LegalAgreementDoc[] {
  const first = new Map<string, LegalAgreementDoc>();
  for (const a of agreements) {
    const seen = first.get(a.version);
    if (!seen || a.acceptedAt < seen.acceptedAt) first.set(a.version, a);
  }
  return [...first.values()];
}

/** A profile to store: validated by this service's own rules (user-commands.ts newProfileSchema; A's and D's inputs), whoever asks. */
export interface NewProfile {
  userId: string;
  organizationId: string;
  email: string;
  phoneNumber?: string;
  firstName: string;
  lastName: string;
  status: UserStatus;
  organisation?: string;
  taxNumber?: string;
  dateOfBirth?: string;
  addresses?: AddressDoc[];
  /** D's createUser: a copy of the username (credentials live in identity) and the job title. */
  username?: string;
  /** The creation saga marks the profile until the other services are written (see reconcile). */
  provisioning?: boolean;
  sagaId?: string;
  jobTitle?: string;
  // A's consumer profile (registerOrganizationUser).
  middleName?: string;
  /** Already sealed by the caller: the plaintext never reaches this module. */
  nationalIdSealed?: string;
  nationalIdLast4?: string;
  visitorId?: string;
  /** Who registers the user: the `user.created` event is stored with the profile. */
  audit?: AuditOrigin;
}

/** The event of each status change identity makes (CLOSED is A's closeAccount's, recorded there too). */
const STATUS_ACTIONS: Record<UserStatus, NewAuditEvent['action']> = {
  ACTIVE: 'user.activated',
  SUSPENDED: 'user.suspended',
  CLOSED: 'user.closed',
  PENDING_VERIFICATION: 'user.status_changed',
};

/** A profile write nobody attributed (an older caller): the event still says what happened. */
const UNATTRIBUTED: AuditOrigin = { actor: { type: 'system', id: 'unattributed' } };

/** C's codes for a taken email or phone; other dialects use the field path. */
const CONFLICT_DIALECT_CODE: Record<string, string> = { email: 'AUTH-0027', phone: 'AUTH-0026' };
const CONFLICT_FIELD: Record<string, string> = { email: 'email', phone: 'phoneNumber' };

export function createUserService(deps: {
  conn: Connection;
  users: UserRepository;
  searchIndex: SearchIndex;
  logger: Pick<Logger, 'error'>;
  /** The audit log's outbox, and the relay's kick after a write that carries events (modules/audit). */
  audit: { outbox: AuditOutbox; kick: (userId?: string) => void };
}) {
  const { conn, users, searchIndex } = deps;

  /** An event about one user of the organization. */
  const userEvent = (
    origin: AuditOrigin | undefined,
    organizationId: string,
    userId: string,
    e: Pick<NewAuditEvent, 'action' | 'changedFields' | 'key'>,
  ): AuditEvent =>
    auditEvent(origin ?? UNATTRIBUTED, {
      organizationId,
      target: { type: 'user', id: userId },
      outcome: 'success',
      subjectUserId: userId,
      ...e,
    });

  function uniqueValues(p: { organizationId: string; email: string; phoneNumber?: string | undefined }) {
    const values = [{ kind: 'email', organizationId: p.organizationId, value: normalizeEmail(p.email) }];
    if (p.phoneNumber) values.push({ kind: 'phone', organizationId: p.organizationId, value: p.phoneNumber });
    return values;
  }

  /**
   * Claims the email (and phone) in the organization, then stores the profile.
   * Concurrent registrations of one email race on the claim's _id: exactly one wins.
   */
  async function createProfile(input: NewProfile): Promise<ProfileDto> {
    const claims = uniqueValues(input).map((c) => ({ ...c, ownerId: input.userId }));
    const outcome = await claimAll(conn, claims, deps.logger);
    if (!outcome.ok) {
      const field = CONFLICT_FIELD[outcome.takenKind] ?? outcome.takenKind;
      const what = outcome.takenKind === 'phone' ? 'phone number' : 'email address';
      throw new DomainError('CONFLICT', `The ${what} is already in use`, [{ path: [field], message: 'is already in use' }], {
        reason: 'ALREADY_IN_USE',
        dialectCode: CONFLICT_DIALECT_CODE[outcome.takenKind],
      });
    }
    try {
      const { doc, inserted } = await users.insertOnce({
        _id: input.userId,
        organizationId: input.organizationId,
        email: input.email,
        emailNormalized: normalizeEmail(input.email),
        phoneNumber: input.phoneNumber,
        firstName: input.firstName,
        lastName: input.lastName,
        status: input.status,
        organisation: input.organisation,
        taxNumber: input.taxNumber,
        dateOfBirth: input.dateOfBirth,
        isSubscribed: false,
        addresses: input.addresses ?? [],
        username: input.username,
        jobTitle: input.jobTitle,
        ...(input.provisioning ? { provisioningSince: new Date(), sagaId: input.sagaId } : {}),
        middleName: input.middleName,
        nationalIdSealed: input.nationalIdSealed,
        nationalIdLast4: input.nationalIdLast4,
        visitorId: input.visitorId,
        // Relayed once the user exists (at once, or when the saga activates it); an undone creation takes it along.
        auditOutbox: [
          userEvent(input.audit, input.organizationId, input.userId, {
            action: 'user.created',
            key: [input.userId, 'user.created'],
          }),
        ],
      });
      // A retried command finds its profile already indexed; a marked one is indexed once it is activated.
      if (inserted && !isPending(doc)) {
        await searchIndex.add(doc);
        deps.audit.kick(doc._id);
      }
      return toProfileDto(doc);
    } catch (err) {
      for (const c of claims) {
        await releaseClaim(conn, c).catch((undoErr: unknown) =>
          logUndoFailure(deps.logger, undoErr, `release ${c.kind} claim (createProfile)`, {
            organizationId: c.organizationId,
            userId: c.ownerId,
          }),
        );
      }
      throw err;
    }
  }

  /** Undo of createProfile: deletes the profile and frees its email and phone. Idempotent. */
  async function deleteProfile(organizationId: string, userId: string): Promise<{ deleted: boolean }> {
    // The profile's events (its deletion's among them) move to the outbox before it goes; an undone creation's go with it.
    const current = await users.findById(organizationId, userId);
    if (current && !current.provisioningSince) {
      const events = [...(current.auditOutbox ?? []), ...(current.deletionAudit ? [current.deletionAudit] : [])];
      await deps.audit.outbox.put(events);
    }
    const doc = await users.deleteById(organizationId, userId);
    if (current && !current.provisioningSince) deps.audit.kick();
    if (!doc) return { deleted: false };
    // A marked profile is not in the search index (see finishProvisioning, markDeleting).
    if (!isPending(doc)) await searchIndex.remove(doc);
    for (const c of uniqueValues(doc)) await releaseClaim(conn, { ...c, ownerId: userId });
    return { deleted: true };
  }

  /** Resolves a login identifier (email or E.164 phone) to a user id, through the uniqueness claims. */
  async function findUserIdByIdentifier(organizationId: string, kind: 'email' | 'phone', value: string): Promise<string | null> {
    const normalized = kind === 'email' ? normalizeEmail(value) : value;
    return findClaimOwner(conn, kind, organizationId, normalized);
  }

  /** Profiles by id (GraphQL reads), inside one organization only: ids of other tenants, and users a saga holds, simply are not found. */
  async function profilesByIds(organizationId: string, ids: readonly string[]): Promise<Map<string, ProfileDto>> {
    const docs = await users.findByIds(organizationId, ids);
    return new Map(docs.filter((d) => !isPending(d)).map((d) => [d._id, toProfileDto(d)]));
  }

  async function getProfile(organizationId: string, userId: string): Promise<ProfileDto> {
    const doc = await users.findById(organizationId, userId);
    if (!doc) throw new DomainError('NOT_FOUND', 'User not found');
    return toProfileDto(doc);
  }

  /** The written profile; else CONCURRENT_CHANGE while a saga holds it, or NOT_FOUND. */
  async function written(organizationId: string, userId: string, doc: UserDoc | null): Promise<ProfileDto> {
    if (doc) return toProfileDto(doc);
    const current = await users.findById(organizationId, userId);
    if (current && isPending(current)) throw concurrentChange();
    throw new DomainError('NOT_FOUND', 'User not found');
  }

  /** identity's status changes (verifyEmail activates a pending account): written, with its event, only when the status changes. */
  async function setStatus(organizationId: string, userId: string, status: UserStatus, origin?: AuditOrigin): Promise<ProfileDto> {
    const event = userEvent(origin, organizationId, userId, {
      action: STATUS_ACTIONS[status],
      changedFields: ['status'],
    });
    const changed = await users.setStatus(organizationId, userId, status, event);
    if (changed) {
      deps.audit.kick(userId);
      return toProfileDto(changed);
    }
    const current = await users.findById(organizationId, userId);
    // Already in that status (a retry): nothing changed, nothing to record.
    if (current && !isPending(current) && current.status === status) return toProfileDto(current);
    // Activation found the account no longer pending (closed or suspended meanwhile): not reopened.
    if (current && !isPending(current))
      throw new DomainError('CONFLICT', 'The account is no longer pending verification', [], { reason: 'CONCURRENT_CHANGE' });
    return written(organizationId, userId, null);
  }

  /** Clears the unverified mark (`user.email_verified`, the field's name only); `verified` while the email is still `email`. */
  async function markEmailVerified(
    organizationId: string,
    userId: string,
    email: string,
    origin?: AuditOrigin,
  ): Promise<{ verified: boolean }> {
    const normalized = normalizeEmail(email);
    const event = userEvent(origin, organizationId, userId, {
      action: 'user.email_verified',
      changedFields: ['emailVerified'],
    });
    if (await users.markEmailVerified(organizationId, userId, normalized, event)) {
      deps.audit.kick(userId);
      return { verified: true };
    }
    // Verified already (a retry, or the address was never changed): true while it is still the user's.
    return { verified: await users.hasEmail(organizationId, userId, normalized) };
  }

  /**
   * Account state (A). Callers authorize; these only keep the updates inside the organization, and off users a
   * saga holds. Each change carries its event (field names only) in its own write; a write that changes nothing records nothing.
   */
  async function markSynced(organizationId: string, userId: string, at: Date, origin?: AuditOrigin) {
    // Not a webhook: the organization's own sync job marks it, and a user.updated back to it would echo.
    const event = userEvent(origin, organizationId, userId, { action: 'user.synced', changedFields: ['syncedAt'] });
    const profile = await written(organizationId, userId, await users.markSynced(organizationId, userId, at, event));
    deps.audit.kick(userId);
    return profile;
  }
  async function acceptLegalAgreement(organizationId: string, userId: string, version: string, at: Date, origin?: AuditOrigin) {
    const event = userEvent(origin, organizationId, userId, {
      action: 'user.updated',
      changedFields: ['legalAgreementVersions'],
    });
    const profile = await written(organizationId, userId, await users.addLegalAgreement(organizationId, userId, version, at, event));
    deps.audit.kick(userId);
    return profile;
  }
  async function updateNotificationPreferences(
    organizationId: string,
    userId: string,
    prefs: Partial<NotificationPreferencesDoc>,
    origin?: AuditOrigin,
  ) {
    const result = await users.setNotificationPreferences(organizationId, userId, prefs, (changedFields) =>
      userEvent(origin, organizationId, userId, { action: 'user.updated', changedFields }),
    );
    if (result.written) deps.audit.kick(userId);
    return written(organizationId, userId, result.doc);
  }
  /**
   * A's closeAccount: `user.closed`, in the write that closes (a repeat closes nothing and writes none).
   * Its id is the closing's own, `closedAt` in the same write: a later closing (after a reopen) is another event.
   */
  async function closeAccount(organizationId: string, userId: string, at: Date, origin: AuditOrigin) {
    const event = userEvent(origin, organizationId, userId, {
      action: 'user.closed',
      changedFields: ['status'],
      key: [userId, 'user.closed', at.toISOString()],
    });
    const closed = await written(organizationId, userId, await users.close(organizationId, userId, at, event));
    deps.audit.kick(userId);
    return closed;
  }

  /**
   * D's updateUser on the profile: a new email or phone is claimed before the
   * document changes and the old claim is released after, so uniqueness holds
   * throughout. `null` clears phone and job title.
   */
  async function updateProfile(
    organizationId: string,
    userId: string,
    patch: { email?: string; firstName?: string; lastName?: string; phoneNumber?: string | null; jobTitle?: string | null },
    origin?: AuditOrigin,
  ): Promise<ProfileDto> {
    const doc = await users.findById(organizationId, userId);
    if (!doc)
      throw new DomainError('NOT_FOUND', 'User not found', [{ path: ['id'], message: 'does not name a user of your organization' }]);
    if (isPending(doc)) throw concurrentChange();
    const next = {
      email: patch.email ?? doc.email,
      firstName: patch.firstName ?? doc.firstName,
      lastName: patch.lastName ?? doc.lastName,
      phoneNumber: patch.phoneNumber === undefined ? doc.phoneNumber : (patch.phoneNumber ?? undefined),
    };
    const before = uniqueValues({ organizationId, email: doc.email, phoneNumber: doc.phoneNumber });
    const after = uniqueValues({ organizationId, ...next });
    const key = (c: { kind: string; value: string }) => `${c.kind}:${c.value}`;
    const added = after.filter((c) => !before.some((b) => key(b) === key(c))).map((c) => ({ ...c, ownerId: userId }));
    const removed = before.filter((c) => !after.some((a) => key(a) === key(c))).map((c) => ({ ...c, ownerId: userId }));
    const outcome = await claimAll(conn, added, deps.logger);
    if (!outcome.ok) {
      const field = CONFLICT_FIELD[outcome.takenKind] ?? outcome.takenKind;
      throw new DomainError(
        'CONFLICT',
        `The ${outcome.takenKind === 'phone' ? 'phone number' : 'email address'} is already in use`,
        [{ path: [field], message: 'is already in use' }],
        { reason: 'ALREADY_IN_USE' },
      );
    }
    const set: Record<string, unknown> = {
      email: next.email,
      emailNormalized: normalizeEmail(next.email),
      firstName: next.firstName,
      lastName: next.lastName,
    };
    const unset: string[] = [];
    // Issue 12, finding 7: whoever changed it may own the new address; it must be verified by the user first.
    if (normalizeEmail(next.email) !== doc.emailNormalized) set.emailUnverified = true;
    if (next.phoneNumber) set.phoneNumber = next.phoneNumber;
    else unset.push('phoneNumber');
    if (patch.jobTitle === null) unset.push('jobTitle');
    else if (patch.jobTitle !== undefined) set.jobTitle = patch.jobTitle;
    // D's names of the fields whose value changed: never the values.
    const changedFields = [
      ...(next.email !== doc.email ? ['email'] : []),
      ...(next.firstName !== doc.firstName ? ['firstName'] : []),
      ...(next.lastName !== doc.lastName ? ['lastName'] : []),
      ...((next.phoneNumber ?? null) !== (doc.phoneNumber ?? null) ? ['phone'] : []),
      ...(patch.jobTitle !== undefined && (patch.jobTitle ?? null) !== (doc.jobTitle ?? null) ? ['jobTitle'] : []),
    ];
    const event =
      changedFields.length > 0 ? userEvent(origin, organizationId, userId, { action: 'user.updated', changedFields }) : undefined;
    const updated = await users.updateFields(organizationId, userId, set, unset, event);
    if (!updated) {
      // A saga marked it since the read: the claims just taken are released by reconcile (releaseStaleProfileClaims).
      if (await users.findById(organizationId, userId)) throw concurrentChange();
      throw new DomainError('NOT_FOUND', 'User not found', [{ path: ['id'], message: 'does not name a user of your organization' }]);
    }
    if (event) deps.audit.kick(userId);
    await searchIndex.replace(doc, updated);
    for (const c of removed) await releaseClaim(conn, c);
    return toProfileDto(updated);
  }

  /** One page of D's search (see search-index.ts), then the page's profiles by id. */
  async function searchPage(organizationId: string, fullText: string, page: PageArgs): Promise<Page<ProfileDto>> {
    const found = await searchIndex.page(organizationId, fullText, page);
    const docs = new Map((await users.findByIds(organizationId, found.ids)).map((d) => [d._id, d]));
    // An id whose profile is gone (a crash between two writes) is skipped.
    const edges = found.ids.flatMap((id) => {
      const doc = docs.get(id);
      // Only live users are indexed; one marked since its page was read is skipped like a gone one.
      return doc && !isPending(doc) ? [{ cursor: encodeCursor(id), node: toProfileDto(doc) }] : [];
    });
    return {
      edges,
      pageInfo: {
        hasNextPage: found.hasNextPage,
        hasPreviousPage: Boolean(page.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
      totalCount: found.totalCount,
    };
  }

  /** D's search for a caller who sees only themselves: the same match rule, over their own profile. */
  async function selfSearchPage(organizationId: string, userId: string, fullText: string, page: PageArgs): Promise<Page<ProfileDto>> {
    const doc = await users.findById(organizationId, userId);
    const query = normalizeQuery(fullText);
    const matches = doc !== null && !isPending(doc) && (query === '' || matchesQuery(searchValuesOf(doc), query));
    const edges = matches && !page.after && page.first > 0 ? [{ cursor: encodeCursor(doc._id), node: toProfileDto(doc) }] : [];
    return {
      edges,
      pageInfo: {
        hasNextPage: false,
        hasPreviousPage: Boolean(page.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
      totalCount: matches ? 1 : 0,
    };
  }

  const pageArgsSchema = z.object(pageArgsShape);
  /**
   * The creation saga's last step. Idempotent (a retry finds the profile live);
   * CONCURRENT_CHANGE when reconcile claimed it meanwhile, so the saga undoes itself.
   */
  const finishProvisioning = async (organizationId: string, userId: string, sagaId: string): Promise<{ activated: boolean }> => {
    const activated = await users.finishProvisioning(organizationId, userId, sagaId);
    if (activated) {
      // Its user.created event may go now.
      deps.audit.kick(userId);
      // Listed by search from here on (a crash before this line is repaired by `usergraph repair`).
      await searchIndex.add(activated);
      return { activated: true };
    }
    const doc = await users.findById(organizationId, userId);
    if (doc && !doc.provisioningSince && !doc.deletingSince && !doc.reconcilingSince) return { activated: true };
    throw concurrentChange();
  };
  const claimStuck = users.claimStuck;
  /** The deletion saga's first step: refused (CONFLICT) while another saga holds the profile. */
  const markDeleting = async (organizationId: string, userId: string, sagaId: string, origin?: AuditOrigin): Promise<void> => {
    // The event rides on the mark; it is logged only once the profile is really deleted (deleteProfile), by the saga or reconcile.
    const event = userEvent(origin, organizationId, userId, {
      action: 'user.deleted',
      key: [userId, 'user.deleted'],
    });
    const marked = await users.markDeleting(organizationId, userId, sagaId, event);
    // Listed by no search from here on; unmarkDeleting lists it again.
    if (marked) return searchIndex.remove(marked);
    const doc = await users.findById(organizationId, userId);
    if (!doc) throw new DomainError('NOT_FOUND', 'User not found');
    throw concurrentChange();
  };
  const unmarkDeleting = async (organizationId: string, userId: string, sagaId: string): Promise<void> => {
    const live = await users.unmarkDeleting(organizationId, userId, sagaId);
    if (live) await searchIndex.add(live);
  };
  const stuckInSaga = users.stuckInSaga;
  /** Which of these ids are users of the organization. */
  const existingUserIds = async (organizationId: string, ids: readonly string[]) =>
    (await users.findByIds(organizationId, ids)).map((d) => d._id);

  /** Reconcile: frees email and phone claims older than `createdBefore` that are not their owner's current values. */
  const releaseStaleProfileClaims = (createdBefore: Date) =>
    releaseStaleClaims(conn, ['email', 'phone'], createdBefore, async (organizationId, claims) => {
      const docs = new Map(
        (
          await users.findByIds(
            organizationId,
            claims.map((c) => c.ownerId),
          )
        ).map((d) => [d._id, d]),
      );
      return new Set(
        claims.filter((c) => {
          const doc = docs.get(c.ownerId);
          return doc !== undefined && (c.kind === 'email' ? normalizeEmail(doc.email) === c.value : doc.phoneNumber === c.value);
        }),
      );
    });

  return {
    existingUserIds,
    finishProvisioning,
    claimStuck,
    stuckInSaga,
    markDeleting,
    unmarkDeleting,
    releaseStaleProfileClaims,
    updateProfile,
    searchPage,
    selfSearchPage,
    pageArgsSchema,
    createProfile,
    deleteProfile,
    findUserIdByIdentifier,
    profilesByIds,
    getProfile,
    setStatus,
    markEmailVerified,
    markSynced,
    acceptLegalAgreement,
    updateNotificationPreferences,
    closeAccount,
  };
}

export type UserService = ReturnType<typeof createUserService>;
