import { requireAuthenticated } from '@usergraph/service-kit';
import type { AccessPolicy } from '../../access-policy.js';
import type { OrganizationService } from '../organizations/organization-service.js';
import type { UserAdminService } from './user-admin-service.js';
import type { Resolvers } from '../../generated/resolvers-types.js';

/** D's `viewer` (the GraphQL type's mapper): the caller's organization, resolved by field. */
export interface ViewerModel {
  organizationId: string;
}

export function createUserAdminResolvers(deps: {
  admin: UserAdminService;
  organizations: OrganizationService;
  /** Who acts, as the audit log names them (a support admin told apart): access-policy.ts. */
  auditOrigin: AccessPolicy['auditOrigin'];
}): Resolvers {
  return {
    Query: {
      users: (_, args, ctx) => deps.admin.search(ctx.caller, args),
      viewer: (_, __, ctx) => ({ organizationId: requireAuthenticated(ctx.caller).organizationId }),
    },
    Viewer: {
      currentOrganization: (viewer) => deps.organizations.getById(viewer.organizationId),
    },
    Mutation: {
      createUser: async (_, args, ctx) => deps.admin.createUser(ctx.caller, args.input, await deps.auditOrigin(ctx)),
      updateUser: async (_, args, ctx) => deps.admin.updateUser(ctx.caller, args.input, await deps.auditOrigin(ctx)),
      deleteUsers: async (_, args, ctx) => deps.admin.deleteUsers(ctx.caller, args.input, await deps.auditOrigin(ctx)),
    },
    Organization: {
      members: (_org, args, ctx) => deps.admin.search(ctx.caller, args),
    },
  };
}
