import DataLoader from 'dataloader';
import { DateResolver, DateTimeResolver } from 'graphql-scalars';
import { forbidden, requireAuthenticated, type RequestContext } from '@usergraph/service-kit';
import type { AccessPolicy } from '../../access-policy.js';
import type { OrganizationService } from '../organizations/organization-service.js';
import type { ProfileDto, UserService } from './user-service.js';
import type { Resolvers } from '../../generated/resolvers-types.js';

/** One loader per request, so `_entities` for 50 users is one query. */
const loaders = new WeakMap<RequestContext, DataLoader<string, ProfileDto | undefined>>();

/** Only the users the access policy lets the caller see; others come back undefined. */
function profileLoader(ctx: RequestContext, users: UserService, policy: AccessPolicy) {
  let loader = loaders.get(ctx);
  if (!loader) {
    loader = new DataLoader(async (ids) => {
      const { organizationId } = requireAuthenticated(ctx.caller);
      const found = await policy.visible(ctx.caller, [...(await users.profilesByIds(organizationId, ids)).values()]);
      const byId = new Map(found.map((p) => [p.id, p]));
      return ids.map((id) => byId.get(id));
    });
    loaders.set(ctx, loader);
  }
  return loader;
}

export function createUserResolvers(deps: { users: UserService; organizations: OrganizationService; policy: AccessPolicy }): Resolvers {
  return {
    DateTime: DateTimeResolver,
    Date: DateResolver,
    Query: {
      me: async (_, __, ctx) => {
        const caller = requireAuthenticated(ctx.caller);
        if (caller.kind !== 'user') return null;
        return (await profileLoader(ctx, deps.users, deps.policy).load(caller.userId)) ?? null;
      },
    },
    User: {
      async __resolveReference(ref, ctx) {
        const profile = await profileLoader(ctx, deps.users, deps.policy).load(ref.id);
        if (!profile) throw forbidden('This user is not visible to you');
        return profile;
      },
      _id: (u) => u.id,
      telephone: (u) => u.phoneNumber,
      address: (u) => u.addresses[0] ?? null,
      organization: (u) => deps.organizations.getById(u.organizationId),
    },
  };
}
