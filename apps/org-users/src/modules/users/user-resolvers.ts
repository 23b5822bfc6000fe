import DataLoader from 'dataloader';
import { DateResolver, DateTimeResolver } from 'graphql-scalars';
import { forbidden, requireAuthenticated, type RequestContext } from '@usergraph/service-kit';
import type { AccessPolicy } from '../../access-policy.js';
import type { OrganizationService } from '../organizations/organization-service.js';
import type { ProfileDto, UserService } from './user-service.js';

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

export function createUserResolvers(deps: { users: UserService; organizations: OrganizationService; policy: AccessPolicy }) {
  return {
    DateTime: DateTimeResolver,
    Date: DateResolver,
    Query: {
      me: async (_: unknown, __: unknown, ctx: RequestContext) => {
        const caller = requireAuthenticated(ctx.caller);
        if (caller.kind !== 'user') return null;
        return (await profileLoader(ctx, deps.users, deps.policy).load(caller.userId)) ?? null;
      },
    },
    User: {
      async __resolveReference(ref: { id: string }, ctx: RequestContext) {
        const profile = await profileLoader(ctx, deps.users, deps.policy).load(ref.id);
        if (!profile) throw forbidden('This user is not visible to you');
        return profile;
      },
      _id: (u: ProfileDto) => u.id,
      telephone: (u: ProfileDto) => u.phoneNumber,
      address: (u: ProfileDto) => u.addresses[0] ?? null,
      organization: (u: ProfileDto) => deps.organizations.getById(u.organizationId),
    },
  };
}
