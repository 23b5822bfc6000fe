import type { AuditOriginOf } from '@usergraph/audit';
import { isNotFound, forbidden, unauthenticated, type RequestContext } from '@usergraph/service-kit';
import type { LicensingClient, OrgUsersClient } from '../../clients.js';
import type { ApplicationService } from './application-service.js';
import type { Resolvers } from '../../generated/resolvers-types.js';

/**
 * Applications are managed only by ACTIVE users holding the ADMIN license
 * (the access policy of org-users and licensing: a pending or suspended ADMIN
 * has no admin power). Never by an application, whatever its permissions, so
 * no application can mint or widen another. An ADMIN user holds every
 * permission, organization-users:admin included, so what it grants never
 * exceeds what it holds.
 */
export function createApplicationResolvers(deps: {
  applications: ApplicationService;
  licensing: LicensingClient;
  orgUsers: Pick<OrgUsersClient, 'getProfile'>;
  /** Who acts, as the audit log names them (a support admin told apart). */
  auditOrigin: AuditOriginOf;
}): Resolvers {
  async function adminOrganization(ctx: RequestContext): Promise<string> {
    const caller = ctx.caller;
    if (caller.kind === 'anonymous') throw unauthenticated();
    if (caller.kind !== 'user') throw forbidden('Only an organization admin (ADMIN license) manages applications');
    const [licenses, profile] = await Promise.all([
      deps.licensing.licensesOf(caller.organizationId, caller.userId),
      // A user whose profile is gone is nobody's admin; any other failure is the caller's to see.
      deps.orgUsers.getProfile(caller.organizationId, caller.userId).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      }),
    ]);
    if (!licenses.includes('ADMIN') || profile?.status !== 'ACTIVE')
      throw forbidden('Only an organization admin (ADMIN license) manages applications');
    return caller.organizationId;
  }

  return {
    Query: {
      applications: async (_, __, ctx) => deps.applications.list(await adminOrganization(ctx)),
    },
    Mutation: {
      async createApplication(_, args, ctx) {
        const { clientSecret, ...application } = await deps.applications.create(
          await adminOrganization(ctx),
          args,
          await deps.auditOrigin(ctx),
        );
        return { application, clientSecret };
      },
      setApplicationStatus: async (_, args, ctx) =>
        deps.applications.setStatus(await adminOrganization(ctx), args.clientId, args.status, await deps.auditOrigin(ctx)),
      setApplicationPermissions: async (_, args, ctx) =>
        deps.applications.setPermissions(await adminOrganization(ctx), args.clientId, args.permissions, await deps.auditOrigin(ctx)),
      rotateApplicationSecret: async (_, args, ctx) =>
        deps.applications.rotateSecret(await adminOrganization(ctx), args.clientId, await deps.auditOrigin(ctx)),
    },
  };
}
