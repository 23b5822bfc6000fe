import { requireAuthenticated, type RequestContext } from '@usergraph/service-kit';
import type { OrganizationService } from '../organizations/organization-service.js';
import type { UserAdminService } from './user-admin-service.js';

interface SearchArgs {
  fullText?: string | null;
  first: number;
  after?: string | null;
}

export function createUserAdminResolvers(deps: { admin: UserAdminService; organizations: OrganizationService }) {
  return {
    Query: {
      users: (_: unknown, args: SearchArgs, ctx: RequestContext) => deps.admin.search(ctx.caller, args),
      viewer: (_: unknown, __: unknown, ctx: RequestContext) => ({ organizationId: requireAuthenticated(ctx.caller).organizationId }),
    },
    Viewer: {
      currentOrganization: (viewer: { organizationId: string }) => deps.organizations.getById(viewer.organizationId),
    },
    Mutation: {
      createUser: (_: unknown, args: { input: Record<string, unknown> }, ctx: RequestContext) => deps.admin.createUser(ctx.caller, args.input),
      updateUser: (_: unknown, args: { input: Record<string, unknown> }, ctx: RequestContext) => deps.admin.updateUser(ctx.caller, args.input),
      deleteUsers: (_: unknown, args: { input: Record<string, unknown> }, ctx: RequestContext) => deps.admin.deleteUsers(ctx.caller, args.input),
    },
    Organization: {
      members: (_org: { id: string }, args: SearchArgs, ctx: RequestContext) => deps.admin.search(ctx.caller, args),
    },
  };
}
