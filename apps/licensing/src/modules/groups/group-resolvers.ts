import { DomainError, type RequestContext } from '@usergraph/service-kit';
import type { LicenseService } from '../licenses/license-service.js';
import type { AccessPolicy } from '../../access-policy.js';
import type { GroupDoc } from './group-repository.js';
import type { GroupService } from './group-service.js';
import type { Resolvers } from '../../generated/resolvers-types.js';

/** addGroupMembers / removeGroupMembers: user ids per call. */
const MAX_USER_IDS = 100;

export function createGroupResolvers(deps: {
  groups: GroupService;
  licenses: LicenseService;
  policy: AccessPolicy;
  /** Which of these ids are users of the organization (asked of org-users, their owner). */
  existingUserIds: (organizationId: string, userIds: string[]) => Promise<string[]>;
}): Resolvers {
  const adminOrganization = (ctx: RequestContext) => deps.policy.requireOrganizationAdmin(ctx.caller);
  const view = (group: GroupDoc) => ({ name: group.name, memberCount: group.memberCount ?? 0 });

  async function members(organizationId: string, userIds: string[]): Promise<string[]> {
    // Each id is a guarded transition: one request may not make an unbounded amount of work.
    if (userIds.length > MAX_USER_IDS)
      throw new DomainError('BAD_USER_INPUT', `At most ${MAX_USER_IDS} user ids per call`, [
        { path: ['userIds'], message: `must hold at most ${MAX_USER_IDS} ids` },
      ]);
    const unique = [...new Set(userIds)];
    const existing = new Set(await deps.existingUserIds(organizationId, unique));
    const unknown = unique.map((id, i) => ({ id, i })).filter(({ id }) => !existing.has(id));
    if (unknown.length > 0) {
      throw new DomainError(
        'BAD_USER_INPUT',
        'Some ids are not users of your organization',
        unknown.map(({ i }) => ({ path: ['userIds', String(i)], message: 'is not a user of your organization' })),
      );
    }
    return unique;
  }

  return {
    Mutation: {
      async createGroup(_, args, ctx) {
        const org = await adminOrganization(ctx);
        return view(await deps.groups.create(org, args.name, await deps.policy.auditOrigin(ctx)));
      },
      async renameGroup(_, args, ctx) {
        const org = await adminOrganization(ctx);
        return view(await deps.groups.rename(org, args.name, args.newName, await deps.policy.auditOrigin(ctx)));
      },
      async deleteGroup(_, args, ctx) {
        const org = await adminOrganization(ctx);
        await deps.groups.remove(
          org,
          args.name,
          async (userIds, groupId) => {
            // Deleting the group changes every member's groups: the same rule as removeGroupMembers, for each of them.
            const guardOf = await deps.policy.requireWriteOnUsers(ctx.caller, org, userIds, () => ({
              path: ['name'],
              support: 'has a support admin as a member: only the platform operator changes their groups',
              admin: 'has a company admin as a member: removing them needs organization-users:admin',
            }));
            await deps.licenses.updateGroupMembership(
              org,
              userIds,
              (ids) => ids.filter((g) => g !== groupId),
              guardOf,
              await deps.policy.auditOrigin(ctx),
            );
          },
          await deps.policy.auditOrigin(ctx),
        );
        return true;
      },
      async addGroupMembers(_, args, ctx) {
        const org = await adminOrganization(ctx);
        const group = await deps.groups.byName(org, args.name);
        const userIds = await members(org, args.userIds);
        const guardOf = await deps.policy.requireWriteOnUsers(ctx.caller, org, userIds);
        await deps.licenses.updateGroupMembership(
          org,
          userIds,
          (ids) => (ids.includes(group._id) ? ids : [...ids, group._id]),
          guardOf,
          await deps.policy.auditOrigin(ctx),
        );
        return view(await deps.groups.byName(org, args.name)); // its count after the change
      },
      async removeGroupMembers(_, args, ctx) {
        const org = await adminOrganization(ctx);
        const group = await deps.groups.byName(org, args.name);
        const userIds = await members(org, args.userIds);
        const guardOf = await deps.policy.requireWriteOnUsers(ctx.caller, org, userIds);
        await deps.licenses.updateGroupMembership(
          org,
          userIds,
          (ids) => ids.filter((g) => g !== group._id),
          guardOf,
          await deps.policy.auditOrigin(ctx),
        );
        return view(await deps.groups.byName(org, args.name)); // its count after the change
      },
    },
  };
}
