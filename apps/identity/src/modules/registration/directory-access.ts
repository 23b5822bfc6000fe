import { isNotFound, forbidden, requireAuthenticated, type Caller } from '@usergraph/service-kit';
import type { LicensingClient, OrgUsersClient } from '../../clients.js';

/** The permissions that read org-users' directory (org-users' access-policy.ts, PERMISSION.read / .write). */
const DIRECTORY_PERMISSIONS = ['organization-users:read', 'organization-users:write'];

/**
 * org-users' access policy for a directory field (`username`), applied by
 * identity to its own `_entities(User)`: a direct call to identity must not
 * answer what the gateway would refuse. Readers: the user itself (no lookup),
 * ACTIVE users holding a license (members and admins), and applications with
 * organization-users:read or :write. Everyone else (self-only users: no
 * license, or not ACTIVE) reads only themselves. One answer per request.
 */
export function createDirectoryAccess(deps: {
  licensing: Pick<LicensingClient, 'licensesOf'>;
  orgUsers: Pick<OrgUsersClient, 'getProfile'>;
}) {
  const readers = new WeakMap<Caller, Promise<boolean>>();

  async function readsDirectory(caller: Exclude<Caller, { kind: 'anonymous' }>): Promise<boolean> {
    if (caller.kind === 'application') return DIRECTORY_PERMISSIONS.some((p) => caller.permissions.has(p));
    const [licenses, profile] = await Promise.all([
      deps.licensing.licensesOf(caller.organizationId, caller.userId),
      deps.orgUsers.getProfile(caller.organizationId, caller.userId).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      }),
    ]);
    return profile?.status === 'ACTIVE' && licenses.length > 0;
  }

  /** Refuses (FORBIDDEN) a caller who may not read `userId`'s directory fields; returns the caller's organization. */
  return async function requireDirectoryReader(rawCaller: Caller, userId: string): Promise<string> {
    const caller = requireAuthenticated(rawCaller);
    if (caller.kind === 'user' && caller.userId === userId) return caller.organizationId;
    let allowed = readers.get(caller);
    if (!allowed) {
      allowed = readsDirectory(caller);
      readers.set(caller, allowed);
    }
    if (!(await allowed)) throw forbidden('This user is not visible to you');
    return caller.organizationId;
  };
}

export type DirectoryAccess = ReturnType<typeof createDirectoryAccess>;
