import { forbidden, unauthenticated, type RequestContext } from '@usergraph/service-kit';
import type { LicensingClient } from '../../clients.js';
import type { ApplicationService } from './application-service.js';

/** Applications are managed by users holding the ADMIN license of the organization. */
export function createApplicationResolvers(deps: { applications: ApplicationService; licensing: LicensingClient }) {
  async function adminOrganization(ctx: RequestContext): Promise<string> {
    const caller = ctx.caller;
    if (caller.kind === 'anonymous') throw unauthenticated();
    if (caller.kind !== 'user') throw forbidden('Only an organization admin (ADMIN license) manages applications');
    const licenses = await deps.licensing.licensesOf(caller.organizationId, caller.userId);
    if (!licenses.includes('ADMIN')) throw forbidden('Only an organization admin (ADMIN license) manages applications');
    return caller.organizationId;
  }

  return {
    Query: {
      applications: async (_: unknown, __: unknown, ctx: RequestContext) => deps.applications.list(await adminOrganization(ctx)),
    },
    Mutation: {
      async createApplication(_: unknown, args: { name: string; permissions: string[] }, ctx: RequestContext) {
        const { clientSecret, ...application } = await deps.applications.create(await adminOrganization(ctx), args);
        return { application, clientSecret };
      },
      setApplicationStatus: async (_: unknown, args: { clientId: string; status: 'ACTIVE' | 'INACTIVE' }, ctx: RequestContext) =>
        deps.applications.setStatus(await adminOrganization(ctx), args.clientId, args.status),
      setApplicationPermissions: async (_: unknown, args: { clientId: string; permissions: string[] }, ctx: RequestContext) =>
        deps.applications.setPermissions(await adminOrganization(ctx), args.clientId, args.permissions),
      rotateApplicationSecret: async (_: unknown, args: { clientId: string }, ctx: RequestContext) =>
        deps.applications.rotateSecret(await adminOrganization(ctx), args.clientId),
    },
  };
}
