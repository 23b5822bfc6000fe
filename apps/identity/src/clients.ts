import { createInternalClient, type InternalClient } from '@usergraph/service-kit';
import type { CreationPorts, SagaContext } from '@usergraph/user-lifecycle';

/** Typed facades over the other services' internal commands. */
export interface OrganizationRef {
  id: string;
  slug: string;
  name: string;
  status: 'ACTIVE' | 'SUSPENDED';
  selfSignup: boolean;
}

export interface ProfileRef {
  id: string;
  organizationId: string;
  email: string;
  phoneNumber: string | null;
  firstName: string;
  lastName: string;
  name: string;
  status: 'ACTIVE' | 'PENDING_VERIFICATION' | 'SUSPENDED' | 'CLOSED';
  organisation: string | null;
  taxNumber: string | null;
  isSubscribed: boolean;
  /** False once the email was changed and not yet verified by the user: no reset code goes to it. */
  emailVerified?: boolean;
  /** A creation or deletion saga holds the user: no session is issued to it. */
  pending?: 'PROVISIONING' | 'DELETING' | null;
  [field: string]: unknown;
}

/** What the createProfile command takes (org-users' newProfileSchema). */
export interface NewProfileRef {
  userId: string;
  organizationId: string;
  email: string;
  phoneNumber?: string;
  firstName: string;
  lastName: string;
  status: 'ACTIVE' | 'PENDING_VERIFICATION';
  organisation?: string;
  taxNumber?: string;
  dateOfBirth?: string;
  username?: string;
  addresses?: Array<Record<string, unknown>>;
  provisioning?: boolean;
  sagaId?: string;
}

export function createOrgUsersClient(client: InternalClient) {
  return {
    getOrganizationBySlug: (slug: string) => client.call<OrganizationRef>('getOrganization', { slug }),
    getOrganizationById: (id: string) => client.call<OrganizationRef>('getOrganization', { id }),
    /** The creation saga's first step; org-users validates the profile with its own rules. */
    createProfile: (input: NewProfileRef) => client.call<ProfileRef>('createProfile', input),
    /** The creation saga's last step: clears the provisioning marker. */
    activateProfile: (organizationId: string, userId: string) => client.call<{ activated: boolean }>('activateProfile', { organizationId, userId }),
    deleteProfile: (organizationId: string, userId: string) =>
      client.call<{ deleted: boolean }>('deleteProfile', { organizationId, userId }),
    getProfile: (organizationId: string, userId: string) => client.call<ProfileRef>('getProfile', { organizationId, userId }),
    setUserStatus: (organizationId: string, userId: string, status: ProfileRef['status']) =>
      client.call<ProfileRef>('setUserStatus', { organizationId, userId, status }),
    /** Marks the user's email verified, if it still is `email`. */
    markEmailVerified: (organizationId: string, userId: string, email: string) =>
      client.call<{ verified: boolean }>('markEmailVerified', { organizationId, userId, email }),
    existingUserIds: async (organizationId: string, userIds: string[]) =>
      (await client.call<{ userIds: string[] }>('existingUserIds', { organizationId, userIds })).userIds,
    findUserIdByIdentifier: async (organizationId: string, kind: 'email' | 'phone', value: string) =>
      (await client.call<{ userId: string | null }>('findUserIdByIdentifier', { organizationId, kind, value })).userId,
  };
}

export type OrgUsersClient = ReturnType<typeof createOrgUsersClient>;

/** The creation saga's profile step and activate, remote in org-users: identity hosts B's, C's and bootstrap's sagas. */
export function remoteProfile(
  orgUsers: OrgUsersClient,
  profile: Omit<NewProfileRef, 'userId' | 'provisioning' | 'sagaId'>,
): Pick<CreationPorts<ProfileRef>, 'profile' | 'activate'> {
  return {
    profile: {
      do: ({ userId, sagaId }: SagaContext, marked: boolean) => orgUsers.createProfile({ ...profile, userId, provisioning: marked, sagaId }),
      undo: ({ userId }: SagaContext) => orgUsers.deleteProfile(profile.organizationId, userId),
    },
    activate: ({ userId }: SagaContext) => orgUsers.activateProfile(profile.organizationId, userId),
  };
}

export function createLicensingClient(client: InternalClient) {
  return {
    licensesOf: async (organizationId: string, userId: string) =>
      (await client.call<{ licenses: string[] }>('getUserLicenses', { organizationId, userId })).licenses,
    /** Bootstrap's licenses step (its first admin): licensing validates the request. */
    assignLicenses: (organizationId: string, userId: string, request: { requestedLicenses: string[]; requestedGroups: string[]; requestedOriginGroup: string | null; supportAdmin: boolean }) =>
      client.call<{ licenses: string[] }>('assignLicenses', { organizationId, userId, ...request }),
    /** Undo of the licenses step: a user that never came to exist holds nothing. */
    forgetUser: (organizationId: string, userId: string) => client.call<{ forgotten: boolean }>('forgetUser', { organizationId, userId }),
  };
}

export type LicensingClient = ReturnType<typeof createLicensingClient>;

export function createServiceClients(opts: { orgUsersUrl: string; licensingUrl: string; secret: string }) {
  const orgUsers = createInternalClient({ from: 'identity', to: 'org-users', baseUrl: opts.orgUsersUrl, secret: opts.secret });
  const licensing = createInternalClient({ from: 'identity', to: 'licensing', baseUrl: opts.licensingUrl, secret: opts.secret });
  return {
    orgUsers: createOrgUsersClient(orgUsers),
    licensing: createLicensingClient(licensing),
    close: async () => {
      await orgUsers.close();
      await licensing.close();
    },
  };
}
