import { licensingCommands, orgUsersCommands, type AuditOrigin, type CommandInput, type CommandOutput } from '@usergraph/contracts';
import { createInternalClient, type InternalClient } from '@usergraph/service-kit';
import type { CreationPorts, SagaContext } from '@usergraph/user-lifecycle';

/** Typed facades over the other services' internal commands; the shapes come from @usergraph/contracts. */
export type OrganizationRef = CommandOutput<typeof orgUsersCommands.getOrganization>;
export type ProfileRef = CommandOutput<typeof orgUsersCommands.getProfile>;
export type NewProfile = CommandInput<typeof orgUsersCommands.createProfile>;
type AssignmentRequest = Omit<CommandInput<typeof licensingCommands.assignLicenses>, 'organizationId' | 'userId' | 'callerMayActOnAdmin'>;

export function createOrgUsersClient(client: InternalClient<'org-users'>) {
  return {
    getOrganizationBySlug: (slug: string) => client.call(orgUsersCommands.getOrganization, { slug }),
    getOrganizationById: (id: string) => client.call(orgUsersCommands.getOrganization, { id }),
    /** The creation saga's first step; org-users validates the profile with its own rules. */
    createProfile: (input: NewProfile) => client.call(orgUsersCommands.createProfile, input),
    /** The creation saga's last step: clears the provisioning marker. */
    activateProfile: (organizationId: string, userId: string, sagaId: string) =>
      client.call(orgUsersCommands.activateProfile, { organizationId, userId, sagaId }),
    deleteProfile: (organizationId: string, userId: string) => client.call(orgUsersCommands.deleteProfile, { organizationId, userId }),
    getProfile: (organizationId: string, userId: string) => client.call(orgUsersCommands.getProfile, { organizationId, userId }),
    /** `audit`: who made the change, for its event. */
    setUserStatus: (organizationId: string, userId: string, status: ProfileRef['status'], audit?: AuditOrigin) =>
      client.call(orgUsersCommands.setUserStatus, { organizationId, userId, status, audit }),
    /** Marks the user's email verified, if it still is `email`. */
    markEmailVerified: (organizationId: string, userId: string, email: string, audit?: AuditOrigin) =>
      client.call(orgUsersCommands.markEmailVerified, { organizationId, userId, email, audit }),
    existingUserIds: async (organizationId: string, userIds: string[]) =>
      (await client.call(orgUsersCommands.existingUserIds, { organizationId, userIds })).userIds,
    findUserIdByIdentifier: async (organizationId: string, kind: 'email' | 'phone', value: string) =>
      (await client.call(orgUsersCommands.findUserIdByIdentifier, { organizationId, kind, value })).userId,
    /** The audit relay: identity's events into org-users' log (idempotent by event id). */
    recordAuditEvents: (events: CommandInput<typeof orgUsersCommands.recordAuditEvents>['events']) =>
      client.call(orgUsersCommands.recordAuditEvents, { events }),
  };
}

export type OrgUsersClient = ReturnType<typeof createOrgUsersClient>;

/** The creation saga's profile step and activate, remote in org-users: identity hosts B's, C's and bootstrap's sagas. */
export function remoteProfile(
  orgUsers: OrgUsersClient,
  profile: Omit<NewProfile, 'userId' | 'provisioning' | 'sagaId'>,
): Pick<CreationPorts<ProfileRef>, 'profile' | 'activate'> {
  return {
    profile: {
      do: ({ userId, sagaId }: SagaContext, marked: boolean) =>
        orgUsers.createProfile({ ...profile, userId, provisioning: marked, sagaId }),
      undo: ({ userId }: SagaContext) => orgUsers.deleteProfile(profile.organizationId, userId),
    },
    activate: ({ userId, sagaId }: SagaContext) => orgUsers.activateProfile(profile.organizationId, userId, sagaId),
  };
}

export function createLicensingClient(client: InternalClient<'licensing'>) {
  return {
    licensesOf: async (organizationId: string, userId: string) =>
      (await client.call(licensingCommands.getUserLicenses, { organizationId, userId })).licenses,
    /** Whether the user is a support admin (the platform operator's): audit events name them so. */
    isSupportAdmin: async (organizationId: string, userId: string) =>
      (await client.call(licensingCommands.getUserLicenses, { organizationId, userId })).supportAdmin,
    /** Bootstrap's licenses step (its first admin): licensing validates the request. */
    assignLicenses: (organizationId: string, userId: string, request: AssignmentRequest & { supportAdmin?: boolean }) =>
      client.call(licensingCommands.assignLicenses, { organizationId, userId, ...request }),
    /** Undo of the licenses step: a user that never came to exist holds nothing. */
    forgetUser: (organizationId: string, userId: string) => client.call(licensingCommands.forgetUser, { organizationId, userId }),
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
