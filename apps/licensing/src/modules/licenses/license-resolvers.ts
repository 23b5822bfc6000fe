import DataLoader from 'dataloader';
import { forbidden, requireAuthenticated, type RequestContext } from '@usergraph/service-kit';
import type { AccessPolicy } from '../../access-policy.js';
import type { GroupService } from '../groups/group-service.js';
import type { LicenseService, UserLicensesDto } from './license-service.js';
import type { Resolvers } from '../../generated/resolvers-types.js';

/** licensing's Organization (the GraphQL type's mapper): only its key; its fields are resolved here. */
export interface OrganizationRef {
  id: string;
}

const loaders = new WeakMap<RequestContext, DataLoader<string, UserLicensesDto | null>>();

export function createLicenseResolvers(deps: { licenses: LicenseService; groups: GroupService; policy: AccessPolicy }): Resolvers {
  /** One batched lookup per request: 50 users cost one call, not 50. A user the policy hides is FORBIDDEN. */
  function loaderFor(ctx: RequestContext) {
    let loader = loaders.get(ctx);
    if (!loader) {
      loader = new DataLoader(async (ids) => {
        const scope = await deps.policy.readScope(ctx.caller, ids);
        const found = await deps.licenses.forUsers(scope.organizationId, ids);
        return ids.map((id): UserLicensesDto | null | Error =>
          scope.onlyUserId === undefined || scope.onlyUserId === id
            ? (found.get(id) ?? null)
            : forbidden('This user is not visible to you'),
        );
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
      groups: async (_, __, ctx) => organizationGroups(await deps.policy.requireDirectoryReader(ctx.caller)),
    },
    Mutation: {
      async setSeatCap(_, args, ctx) {
        const organizationId = await deps.policy.requireOrganizationAdmin(ctx.caller);
        // A cap on ADMIN decides who can be made ADMIN, which needs organization-users:admin.
        if (args.license === 'ADMIN') await deps.policy.requireAdminPermission(ctx.caller, 'Capping ADMIN seats');
        return deps.licenses.setSeatCap(organizationId, args.license, args.cap ?? null, await deps.policy.auditOrigin(ctx));
      },
    },
    User: {
      __resolveReference: (ref, ctx) => loaderFor(ctx).load(ref.id),
    },
    Organization: {
      __resolveReference(ref, ctx) {
        if (requireAuthenticated(ctx.caller).organizationId !== ref.id) throw forbidden('This organization is not visible to you');
        return { id: ref.id };
      },
      groups: async (_org, _, ctx) => organizationGroups(await deps.policy.requireDirectoryReader(ctx.caller)),
      seatUsage: async (_org, _, ctx) => deps.licenses.seatUsage(await deps.policy.requireDirectoryReader(ctx.caller)),
    },
  };
}
