import { forbidden, requireAuthenticated } from '@usergraph/service-kit';
import type { OrganizationService } from './organization-service.js';
import type { Resolvers } from '../../generated/resolvers-types.js';

export function createOrganizationResolvers(deps: { organizations: OrganizationService }): Resolvers {
  return {
    Query: {
      currentOrganization: (_, __, ctx) => deps.organizations.getById(requireAuthenticated(ctx.caller).organizationId),
    },
    Organization: {
      /** A tenant sees only its own organization, however the reference reached us. */
      async __resolveReference(ref, ctx) {
        const caller = requireAuthenticated(ctx.caller);
        if (caller.organizationId !== ref.id) throw forbidden('This organization is not visible to you');
        return deps.organizations.getById(ref.id);
      },
    },
  };
}
