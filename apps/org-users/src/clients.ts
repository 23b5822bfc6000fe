import { identityCommands, licensingCommands, type AuditOrigin, type CommandInput, type CommandOutput } from '@usergraph/contracts';
import { createInternalClient, identityCallerLiveness } from '@usergraph/service-kit';

/** What licensing holds for one user. */
export type UserLicenses = CommandOutput<typeof licensingCommands.getUserLicenses>;

/** A requested assignment, in D's argument names. */
export type AssignmentRequest = Pick<
  CommandInput<typeof licensingCommands.validateAssignment>,
  'requestedLicenses' | 'requestedGroups' | 'requestedOriginGroup'
>;

/** Licensing's internal commands that org-users needs. */
export function createLicensingClient(opts: { baseUrl: string; secret: string }) {
  const client = createInternalClient({ from: 'org-users', to: 'licensing', baseUrl: opts.baseUrl, secret: opts.secret });
  return {
    licensesOf: (organizationId: string, userId: string) => client.call(licensingCommands.getUserLicenses, { organizationId, userId }),
    /**
     * D's license and group rules, checked without writing; every broken rule, with D's paths.
     * `userId` (updateUser): seats and the last ADMIN are judged against what the user holds.
     */
    validateAssignment: (organizationId: string, request: AssignmentRequest, userId?: string) =>
      client.call(licensingCommands.validateAssignment, { organizationId, userId, ...request }),
    /**
     * `callerMayActOnAdmin`: the caller holds organization-users:admin or acts on
     * themselves. Without it licensing refuses (FORBIDDEN) a user holding ADMIN,
     * judged at write time (the access policy's check came earlier).
     */
    assignLicenses: (
      organizationId: string,
      userId: string,
      request: AssignmentRequest,
      callerMayActOnAdmin: boolean,
      audit?: AuditOrigin,
    ) => client.call(licensingCommands.assignLicenses, { organizationId, userId, callerMayActOnAdmin, ...request, audit }),
    /** Refused (CONFLICT / FORBIDDEN) for the last company admin and for support admins. */
    releaseUser: (organizationId: string, userId: string, callerMayActOnAdmin: boolean) =>
      client.call(licensingCommands.releaseUser, { organizationId, userId, callerMayActOnAdmin }),
    /** closeAccount: every license goes (seats back, groups kept); CONFLICT for the last company admin and for support admins. */
    revokeAllLicenses: (organizationId: string, userId: string, callerMayActOnAdmin: boolean, audit: AuditOrigin) =>
      client.call(licensingCommands.revokeLicenses, {
        organizationId,
        userId,
        licenses: ['VIEWER', 'AUTHOR', 'ANALYST', 'ADMIN'],
        callerMayActOnAdmin,
        audit,
      }),
    /** Reconciliation only: drops whatever licensing holds for a user that never fully existed. */
    forgetUser: (organizationId: string, userId: string) => client.call(licensingCommands.forgetUser, { organizationId, userId }),
    close: () => client.close(),
  };
}

export type LicensingClient = ReturnType<typeof createLicensingClient>;

/** Identity's internal commands that D's user administration needs. */
export function createIdentityClient(opts: { baseUrl: string; secret: string }) {
  const client = createInternalClient({ from: 'org-users', to: 'identity', baseUrl: opts.baseUrl, secret: opts.secret });
  return {
    createCredentials: (organizationId: string, userId: string, credentials: { username: string; password: string }) =>
      client.call(identityCommands.createCredentials, { organizationId, userId, ...credentials }),
    /** Read-only: the user holding a username (normalized by identity), or null. */
    usernameOwner: (organizationId: string, username: string) => client.call(identityCommands.usernameOwner, { organizationId, username }),
    /** Also revokes every session of the user. */
    deleteCredentials: (organizationId: string, userId: string) =>
      client.call(identityCommands.deleteCredentials, { organizationId, userId }),
    /** Whether a token's session or application still stands. */
    callerLiveness: identityCallerLiveness(client),
    /** closeAccount: every session of the user ends. */
    revokeSessions: (organizationId: string, userId: string) => client.call(identityCommands.revokeSessions, { organizationId, userId }),
    close: () => client.close(),
  };
}

export type IdentityClient = ReturnType<typeof createIdentityClient>;
