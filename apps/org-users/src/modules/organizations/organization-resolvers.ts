import { forbidden, requireAuthenticated, type RequestContext } from '@usergraph/service-kit';
import type { OrganizationDto, OrganizationService } from './organization-service.js';

export function createOrganizationResolvers(deps: { organizations: OrganizationService }) {
  return {
    Query: {
      currentOrganization: (_: unknown, __: unknown, ctx: RequestContext) =>
        deps.organizations.getById(requireAuthenticated(ctx.caller).organizationId),
    },
    Organization: {
      /** A tenant sees only its own organization, however the reference reached us. */
      async __resolveReference(ref: { id: string }, ctx: RequestContext): Promise<OrganizationDto> {
        const caller = requireAuthenticated(ctx.caller);
        if (caller.organizationId !== ref.id) throw forbidden('This organization is not visible to you');
        return deps.organizations.getById(ref.id);
      },
    },
  };
}
