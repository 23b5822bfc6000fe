import { randomUUID } from 'node:crypto';
import { DomainError, type Logger } from '@usergraph/service-kit';
import type { IdentityClient, LicensingClient } from '../../clients.js';
import type { UserService } from '../users/user-service.js';

/** Licensing's refusals to release a user: the deletion was not allowed after all, so the user stays. */
const REFUSED = new Set(['LAST_COMPANY_ADMIN', 'SUPPORT_ADMIN']);

/**
 * Finishes the user sagas (@usergraph/user-lifecycle) a crash interrupted,
 * whatever entry point started them (A, B, C, D or bootstrap): every saga
 * marks the profile here first.
 *
 * - A profile still marked provisioning after `minAgeMs` was never activated:
 *   its licenses are forgotten, its credentials deleted (username claim
 *   freed, sessions revoked) and the profile deleted (email and phone freed).
 * - A profile marked deleting after `minAgeMs`: the deletion is finished
 *   (licenses released, credentials and profile deleted), unless licensing
 *   refuses the release (last company admin, support admin): then the mark
 *   is cleared and the user stays.
 *
 * Each profile is first claimed atomically (marker still older than the
 * cutoff, same sagaId; the sagaId becomes this run's): a saga that activated
 * or moved meanwhile is left alone, and one that tries to activate after the
 * claim is refused and undoes itself. Every step is idempotent, so running it
 * twice (a crashed run's claim is taken over by the next), or concurrently
 * with itself, is harmless. Identity and licensing reconcile their own records against
 * org-users the same way (credentials or licenses of users that do not exist).
 */
export function createProfileReconciler(deps: {
  users: UserService;
  identity: IdentityClient;
  licensing: LicensingClient;
  logger: Pick<Logger, 'warn'>;
}) {
  return async function reconcile(
    minAgeMs: number,
  ): Promise<{ removedProfiles: number; deletedProfiles: number; keptProfiles: number; releasedClaims: number }> {
    const before = new Date(Date.now() - minAgeMs);
    // This run's claim: a profile is repaired only once it holds it, so a saga that finishes meanwhile keeps its user.
    const reconcileId = randomUUID();
    let removedProfiles = 0;
    for (const p of await deps.users.stuckInSaga('provisioningSince', before)) {
      const log = { sagaId: p.sagaId, reconcileId, organizationId: p.organizationId, userId: p._id };
      if (!(await deps.users.claimStuck('provisioningSince', p, before, reconcileId))) {
        deps.logger.warn(log, 'reconcile: a creation saga finished or moved meanwhile, left alone');
        continue;
      }
      deps.logger.warn(log, 'reconcile: undoing a creation saga that never finished');
      await deps.licensing.forgetUser(p.organizationId, p._id);
      await deps.identity.deleteCredentials(p.organizationId, p._id);
      await deps.users.deleteProfile(p.organizationId, p._id);
      removedProfiles++;
    }
    let deletedProfiles = 0;
    let keptProfiles = 0;
    for (const p of await deps.users.stuckInSaga('deletingSince', before)) {
      const log = { sagaId: p.sagaId, reconcileId, organizationId: p.organizationId, userId: p._id };
      if (!(await deps.users.claimStuck('deletingSince', p, before, reconcileId))) {
        deps.logger.warn(log, 'reconcile: a deletion saga moved meanwhile, left alone');
        continue;
      }
      deps.logger.warn(log, 'reconcile: finishing a deletion saga');
      try {
        // The deletion was authorized before the mark was set; licensing still guards the last company admin and support admins.
        await deps.licensing.releaseUser(p.organizationId, p._id, true);
      } catch (err) {
        if (!(err instanceof DomainError && REFUSED.has(err.reason))) throw err;
        await deps.users.unmarkDeleting(p.organizationId, p._id, reconcileId);
        keptProfiles++;
        continue;
      }
      await deps.identity.deleteCredentials(p.organizationId, p._id);
      await deps.users.deleteProfile(p.organizationId, p._id);
      deletedProfiles++;
    }
    // Email and phone claims a failed undo left behind (logged as it failed).
    const releasedClaims = await deps.users.releaseStaleProfileClaims(before);
    return { removedProfiles, deletedProfiles, keptProfiles, releasedClaims };
  };
}
