import { createInternalClient, type InternalClient } from '@usergraph/service-kit';

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
  [field: string]: unknown;
}

export function createOrgUsersClient(client: InternalClient) {
  return {
    getOrganizationBySlug: (slug: string) => client.call<OrganizationRef>('getOrganization', { slug }),
    getOrganizationById: (id: string) => client.call<OrganizationRef>('getOrganization', { id }),
    createProfile: (input: Record<string, unknown>) => client.call<ProfileRef>('createProfile', input),
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

export function createLicensingClient(client: InternalClient) {
  return {
    licensesOf: async (organizationId: string, userId: string) =>
      (await client.call<{ licenses: string[] }>('getUserLicenses', { organizationId, userId })).licenses,
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
