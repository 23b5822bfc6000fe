import { createAuditOrigin } from '@usergraph/audit';
import { DomainError, forbidden, requireAuthenticated, type Caller } from '@usergraph/service-kit';
import type { AssignmentDoc } from './modules/licenses/assignment-repository.js';
import type { WriteGuard } from './modules/licenses/license-service.js';

/**
 * The access policy of licensing: the same rules as org-users'
 * (apps/org-users/src/access-policy.ts), applied to licenses, groups and seats.
 *
 * Callers
 * - self-only: a user with no license, or whose status is not ACTIVE
 *   (PENDING_VERIFICATION, SUSPENDED, CLOSED). Reads only their own licenses
 *   and groups; the organization's groups and seat usage are FORBIDDEN.
 * - member: an ACTIVE user with a license other than ADMIN. Reads the
 *   organization's groups and seats, and every user's licenses, groups and
 *   origin group: these say what a colleague does in the organization, not
 *   who they are, so they are directory fields.
 * - admin: an ACTIVE user holding ADMIN. Reads everything; manages groups and
 *   seat caps; holds organization-users:admin implicitly.
 * - application: organization-users:read or :write reads everything; :write
 *   manages groups and seat caps; :admin is needed to change the groups of a
 *   user holding ADMIN.
 *
 * Writes changing users' groups (addGroupMembers, removeGroupMembers, and
 * deleteGroup for every member) refuse support admins (the platform
 * operator's accounts) and need organization-users:admin for users holding
 * ADMIN; the rule is checked first, then again on the assignment each write
 * is conditioned on (a WriteGuard), so a concurrent promotion cannot slip
 * past it. Renaming a group changes no one's membership and is allowed.
 * Capping ADMIN seats decides who can be made ADMIN: it needs
 * organization-users:admin too. License assignment itself goes through
 * org-users' updateUser, which applies the same rules before calling
 * assignLicenses (and says whether its caller holds organization-users:admin,
 * checked again at write time).
 */
export const PERMISSION = {
  read: 'organization-users:read',
  write: 'organization-users:write',
  admin: 'organization-users:admin',
} as const;

// The User fields licensing resolves (licenses, groups, originGroup) are all
// directory fields, so one check per user, in User.__resolveReference
// (readScope), decides all of them.

type Viewer =
  | { kind: 'application'; organizationId: string; permissions: ReadonlySet<string> }
  | { kind: 'user'; role: 'self-only' | 'member' | 'admin'; organizationId: string; userId: string };

export function createAccessPolicy(deps: {
  assignmentOf: (organizationId: string, userId: string) => Promise<AssignmentDoc | null>;
  /** The user's status, owned by org-users; null when the user does not exist. */
  statusOf: (organizationId: string, userId: string) => Promise<string | null>;
}) {
  const viewers = new WeakMap<Caller, Promise<Viewer>>();

  async function resolveViewer(c: Exclude<Caller, { kind: 'anonymous' }>): Promise<Viewer> {
    if (c.kind === 'application') return { kind: 'application', organizationId: c.organizationId, permissions: c.permissions };
    const held = (await deps.assignmentOf(c.organizationId, c.userId))?.licenses ?? [];
    // Only a licensed user's status can change the answer: ask org-users then only.
    const active = held.length > 0 && (await deps.statusOf(c.organizationId, c.userId)) === 'ACTIVE';
    const role = !active ? 'self-only' : held.includes('ADMIN') ? 'admin' : 'member';
    return { kind: 'user', role, organizationId: c.organizationId, userId: c.userId };
  }

  function viewerOf(caller: Caller): Promise<Viewer> {
    const c = requireAuthenticated(caller);
    let viewer = viewers.get(c);
    if (!viewer) {
      viewer = resolveViewer(c);
      viewers.set(c, viewer);
    }
    return viewer;
  }

  /** Users whose licenses the caller may read: everyone in the organization, or only themselves. */
  async function readScope(caller: Caller, userIds: readonly string[] = []): Promise<{ organizationId: string; onlyUserId?: string }> {
    const c = requireAuthenticated(caller);
    // Everyone reads their own licenses: `me { licenses }` needs no role lookup.
    if (c.kind === 'user' && userIds.length > 0 && userIds.every((id) => id === c.userId))
      return { organizationId: c.organizationId, onlyUserId: c.userId };
    const v = await viewerOf(c);
    if (v.kind === 'application') {
      if (!v.permissions.has(PERMISSION.read) && !v.permissions.has(PERMISSION.write))
        throw forbidden('The application lacks the organization-users:read permission');
      return { organizationId: v.organizationId };
    }
    return v.role === 'self-only' ? { organizationId: v.organizationId, onlyUserId: v.userId } : { organizationId: v.organizationId };
  }

  /** The organization's groups and seat usage: members, admins and applications that read users. */
  async function requireDirectoryReader(caller: Caller): Promise<string> {
    const scope = await readScope(caller);
    if (scope.onlyUserId !== undefined) throw forbidden("Only the organization's licensed members may read its groups and seats");
    return scope.organizationId;
  }

  /** Groups and seat caps: an ACTIVE ADMIN, or an application with organization-users:write. */
  async function requireOrganizationAdmin(caller: Caller): Promise<string> {
    const v = await viewerOf(caller);
    const ok = v.kind === 'application' ? v.permissions.has(PERMISSION.write) : v.role === 'admin';
    if (!ok) throw forbidden('Only an organization admin (ADMIN license, or an application with organization-users:write) may do this');
    return v.organizationId;
  }

  async function holdsAdminPermission(caller: Caller): Promise<boolean> {
    const v = await viewerOf(caller);
    return v.kind === 'application' ? v.permissions.has(PERMISSION.admin) : v.role === 'admin';
  }

  /** Capping ADMIN seats: an ACTIVE ADMIN, or an application with organization-users:admin. */
  async function requireAdminPermission(caller: Caller, what: string): Promise<void> {
    if (!(await holdsAdminPermission(caller)))
      throw forbidden(`${what} needs an organization admin or an application with organization-users:admin`);
  }

  /**
   * Changing these users' groups: never a support admin; an ADMIN only with
   * organization-users:admin. Oneself is one's own. Checks every user first
   * (nothing is written when one is refused) and returns the same rule as a
   * WriteGuard per user, for the writes themselves. `at(i)` names the
   * argument in errors.
   */
  async function requireWriteOnUsers(
    caller: Caller,
    organizationId: string,
    userIds: readonly string[],
    at: (i: number) => { path: string[]; support: string; admin: string } = (i) => ({
      path: ['userIds', String(i)],
      support: 'is a support admin',
      admin: 'is a company admin',
    }),
  ): Promise<(userId: string) => WriteGuard> {
    const v = await viewerOf(caller);
    const holdsAdmin = await holdsAdminPermission(caller);
    const guardOf =
      (userId: string, i: number): WriteGuard =>
      (held) => {
        if (v.kind === 'user' && v.userId === userId) return;
        const { path, support, admin } = at(i);
        if (held?.supportAdmin)
          throw new DomainError(
            'FORBIDDEN',
            "A support admin's account is managed only by the platform operator",
            [{ path, message: support }],
            { reason: 'SUPPORT_ADMIN' },
          );
        if (held?.licenses.includes('ADMIN') && !holdsAdmin) {
          throw new DomainError(
            'FORBIDDEN',
            "Changing a company admin's groups needs an organization admin or an application with organization-users:admin",
            [{ path, message: admin }],
            {
              reason: 'COMPANY_ADMIN',
            },
          );
        }
      };
    for (const [i, userId] of userIds.entries()) guardOf(userId, i)(await deps.assignmentOf(organizationId, userId), null);
    return (userId) => guardOf(userId, userIds.indexOf(userId));
  }

  /** Who acts, as an audit event names them (packages/audit's one helper, as org-users'): a support admin is told apart by their assignment. */
  const auditOrigin = createAuditOrigin(async (c) => (await deps.assignmentOf(c.organizationId, c.userId))?.supportAdmin ?? false);

  return {
    viewerOf,
    readScope,
    requireDirectoryReader,
    requireOrganizationAdmin,
    requireAdminPermission,
    requireWriteOnUsers,
    auditOrigin,
  };
}

export type AccessPolicy = ReturnType<typeof createAccessPolicy>;
