import type { IdentityClient, LicensingClient } from '../../clients.js';
import type { UserService } from '../users/user-service.js';

/**
 * Repairs what a crash in the middle of D's createUser leaves behind: a
 * profile still marked `provisioningSince` after `minAgeMs` never finished, so
 * its credentials and licenses (if any were written) are removed with it.
 * Every step is idempotent, so running it twice, or concurrently with itself,
 * is harmless. Identity and licensing reconcile their own records against
 * org-users the same way (credentials or licenses of users that do not exist).
 */
export function createProfileReconciler(deps: { users: UserService; identity: IdentityClient; licensing: LicensingClient }) {
  return async function reconcile(minAgeMs: number): Promise<{ removedProfiles: number; releasedClaims: number }> {
    const stuck = await deps.users.stuckInProvisioning(new Date(Date.now() - minAgeMs));
    for (const p of stuck) {
      await deps.licensing.forgetUser(p.organizationId, p._id);
      await deps.identity.deleteCredentials(p.organizationId, p._id);
      await deps.users.deleteProfile(p.organizationId, p._id);
    }
    // Email and phone claims a failed undo left behind (logged as it failed).
    const releasedClaims = await deps.users.releaseStaleProfileClaims(new Date(Date.now() - minAgeMs));
    return { removedProfiles: stuck.length, releasedClaims };
  };
}
