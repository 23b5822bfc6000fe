import type { Connection } from 'mongoose';
import { claimAll, findClaimOwner, releaseClaim } from '@usergraph/mongo';
import { normalizeEmail } from '@usergraph/validation';
import { DomainError, forbidden, unauthenticated, type Caller } from '@usergraph/service-kit';
import type { AddressDoc, UserDoc, UserRepository, UserStatus } from './user-repository.js';

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
}

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
  };
}

/** Input of the createProfile internal command: already validated and normalized by the caller. */
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
}

/** C's codes for a taken email or phone; other dialects use the field path. */
const CONFLICT_DIALECT_CODE: Record<string, string> = { email: 'AUTH-0027', phone: 'AUTH-0026' };
const CONFLICT_FIELD: Record<string, string> = { email: 'email', phone: 'phoneNumber' };

export function createUserService(deps: { conn: Connection; users: UserRepository }) {
  const { conn, users } = deps;

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
    const outcome = await claimAll(conn, claims);
    if (!outcome.ok) {
      const field = CONFLICT_FIELD[outcome.takenKind] ?? outcome.takenKind;
      const what = outcome.takenKind === 'phone' ? 'phone number' : 'email address';
      throw new DomainError('CONFLICT', `The ${what} is already in use`, [{ path: [field], message: 'is already in use' }], CONFLICT_DIALECT_CODE[outcome.takenKind]);
    }
    try {
      const doc = await users.insertOnce({
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
      });
      return toProfileDto(doc);
    } catch (err) {
      for (const c of claims) await releaseClaim(conn, c).catch(() => undefined);
      throw err;
    }
  }

  /** Undo of createProfile: deletes the profile and frees its email and phone. Idempotent. */
  async function deleteProfile(organizationId: string, userId: string): Promise<{ deleted: boolean }> {
    const doc = await users.findById(organizationId, userId);
    if (!doc) return { deleted: false };
    await users.deleteById(organizationId, userId);
    for (const c of uniqueValues(doc)) await releaseClaim(conn, { ...c, ownerId: userId });
    return { deleted: true };
  }

  /** Resolves a login identifier (email or E.164 phone) to a user id, through the uniqueness claims. */
  async function findUserIdByIdentifier(organizationId: string, kind: 'email' | 'phone', value: string): Promise<string | null> {
    const normalized = kind === 'email' ? normalizeEmail(value) : value;
    return findClaimOwner(conn, kind, organizationId, normalized);
  }

  /**
   * Users the caller may read, by id. Only the caller's organization is ever
   * queried; ids of other tenants simply are not found.
   */
  async function visibleProfiles(caller: Caller, ids: readonly string[]): Promise<Map<string, ProfileDto>> {
    if (caller.kind === 'anonymous') throw unauthenticated();
    if (caller.kind === 'application' && !caller.permissions.has('organization-users:read') && !caller.permissions.has('organization-users:write')) {
      throw forbidden('The application lacks the organization-users:read permission');
    }
    const docs = await users.findByIds(caller.organizationId, ids);
    return new Map(docs.map((d) => [d._id, toProfileDto(d)]));
  }

  async function getProfileForCaller(caller: Caller, id: string): Promise<ProfileDto> {
    const found = (await visibleProfiles(caller, [id])).get(id);
    if (!found) throw forbidden('This user is not visible to you');
    return found;
  }

  async function getProfile(organizationId: string, userId: string): Promise<ProfileDto> {
    const doc = await users.findById(organizationId, userId);
    if (!doc) throw new DomainError('NOT_FOUND', 'User not found');
    return toProfileDto(doc);
  }

  async function setStatus(organizationId: string, userId: string, status: UserStatus): Promise<ProfileDto> {
    const doc = await users.setStatus(organizationId, userId, status);
    if (!doc) throw new DomainError('NOT_FOUND', 'User not found');
    return toProfileDto(doc);
  }

  return { createProfile, deleteProfile, findUserIdByIdentifier, visibleProfiles, getProfileForCaller, getProfile, setStatus };
}

export type UserService = ReturnType<typeof createUserService>;
