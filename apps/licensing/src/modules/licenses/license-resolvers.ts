import DataLoader from 'dataloader';
import { forbidden, requireAuthenticated, type RequestContext } from '@usergraph/service-kit';
import type { AccessPolicy } from '../../access-policy.js';
import type { GroupService } from '../groups/group-service.js';
import type { LicenseService, UserLicensesDto } from './license-service.js';

const loaders = new WeakMap<RequestContext, DataLoader<string, UserLicensesDto | undefined>>();

export function createLicenseResolvers(deps: { licenses: LicenseService; groups: GroupService; policy: AccessPolicy }) {
  /** One batched lookup per request: 50 users cost one call, not 50. A user the policy hides is FORBIDDEN. */
  function loaderFor(ctx: RequestContext) {
    let loader = loaders.get(ctx);
    if (!loader) {
      loader = new DataLoader(async (ids) => {
        const scope = await deps.policy.readScope(ctx.caller, ids);
        const found = await deps.licenses.forUsers(scope.organizationId, ids);
        return ids.map((id): UserLicensesDto | undefined | Error => (scope.onlyUserId === undefined || scope.onlyUserId === id ? found.get(id) : forbidden('This user is not visible to you')));
      });
      loaders.set(ctx, loader);
    }
    return loader;
  }

  async function organizationGroups(organizationId: string) {
    return (await deps.groups.list(organizationId)).map((g) => ({ name: g.name, memberCount: g.memberCount ?? 0 }));
  }

  return {
    Query: {
      groups: async (_: unknown, __: unknown, ctx: RequestContext) => organizationGroups(await deps.policy.requireDirectoryReader(ctx.caller)),
    },
    Mutation: {
      async setSeatCap(_: unknown, args: { license: string; cap: number | null }, ctx: RequestContext) {
        const organizationId = await deps.policy.requireOrganizationAdmin(ctx.caller);
        // A cap on ADMIN decides who can be made ADMIN, which needs organization-users:admin.
        if (args.license === 'ADMIN') await deps.policy.requireAdminPermission(ctx.caller, 'Capping ADMIN seats');
        return deps.licenses.setSeatCap(organizationId, args.license, args.cap ?? null);
      },
    },
    User: {
      __resolveReference: (ref: { id: string }, ctx: RequestContext) => loaderFor(ctx).load(ref.id),
    },
    Organization: {
      __resolveReference(ref: { id: string }, ctx: RequestContext) {
        if (requireAuthenticated(ctx.caller).organizationId !== ref.id) throw forbidden('This organization is not visible to you');
        return { id: ref.id };
      },
      groups: async (_org: { id: string }, _: unknown, ctx: RequestContext) => organizationGroups(await deps.policy.requireDirectoryReader(ctx.caller)),
      seatUsage: async (_org: { id: string }, _: unknown, ctx: RequestContext) => deps.licenses.seatUsage(await deps.policy.requireDirectoryReader(ctx.caller)),
    },
  };
}
