import DataLoader from 'dataloader';
import { forbidden, requireAuthenticated, type RequestContext } from '@usergraph/service-kit';
import type { GroupService } from '../groups/group-service.js';
import type { LicenseService, UserLicensesDto } from './license-service.js';

const loaders = new WeakMap<RequestContext, DataLoader<string, UserLicensesDto | undefined>>();

/** Organization admins only: returns the caller's organization id, or throws FORBIDDEN. */
export function createAdminGuard(licenses: LicenseService) {
  return async (ctx: RequestContext): Promise<string> => {
    const caller = requireAuthenticated(ctx.caller);
    if (!(await licenses.isAdmin(caller))) {
      throw forbidden('Only an organization admin (ADMIN license, or an application with organization-users:write) may do this');
    }
    return caller.organizationId;
  };
}

export function createLicenseResolvers(deps: { licenses: LicenseService; groups: GroupService }) {
  /** One batched lookup per request: 50 users cost one call, not 50. */
  function loaderFor(ctx: RequestContext) {
    let loader = loaders.get(ctx);
    if (!loader) {
      loader = new DataLoader(async (ids) => {
        const found = await deps.licenses.forUsers(ctx.caller, ids);
        return ids.map((id) => found.get(id));
      });
      loaders.set(ctx, loader);
    }
    return loader;
  }

  async function organizationGroups(organizationId: string) {
    return (await deps.groups.list(organizationId)).map((g) => ({ name: g.name, memberCount: g.memberCount ?? 0 }));
  }

  const adminOrganization = createAdminGuard(deps.licenses);

  return {
    Query: {
      groups: (_: unknown, __: unknown, ctx: RequestContext) => organizationGroups(requireAuthenticated(ctx.caller).organizationId),
    },
    Mutation: {
      setSeatCap: async (_: unknown, args: { license: string; cap: number | null }, ctx: RequestContext) =>
        deps.licenses.setSeatCap(await adminOrganization(ctx), args.license, args.cap ?? null),
    },
    User: {
      __resolveReference: (ref: { id: string }, ctx: RequestContext) => loaderFor(ctx).load(ref.id),
    },
    Organization: {
      __resolveReference(ref: { id: string }, ctx: RequestContext) {
        if (requireAuthenticated(ctx.caller).organizationId !== ref.id) throw forbidden('This organization is not visible to you');
        return { id: ref.id };
      },
      groups: (org: { id: string }) => organizationGroups(org.id),
      seatUsage: (org: { id: string }) => deps.licenses.seatUsage(org.id),
    },
  };
}
