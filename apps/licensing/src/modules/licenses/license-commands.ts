import { z } from 'zod';
import { defineCommand } from '@usergraph/service-kit';
import { adminTargetGuard, type LicenseService } from './license-service.js';
import type { createCounterRepair } from './repair.js';

const id = z.string().min(1).max(64);
/** D's names for the request fields; validated by the license rules, not here. */
/**
 * Writes on an existing user: whether org-users' caller holds
 * organization-users:admin (or acts on themselves). Absent means no, so a
 * user holding ADMIN is refused at write time unless the caller says so.
 */
const callerMayActOnAdmin = z.boolean().default(false);
const request = { requestedLicenses: z.unknown(), requestedGroups: z.unknown(), requestedOriginGroup: z.unknown().optional() };

/**
 * The commands org-users (and identity's creation saga) use. All are idempotent:
 * assign sets a complete state, revoke and release converge to one.
 */
export function createLicenseCommands(
  licenses: LicenseService,
  existingUserIds: (organizationId: string, userIds: string[]) => Promise<string[]>,
  counters: ReturnType<typeof createCounterRepair>,
) {
  return {
    /**
     * D's license and group rules, checked without writing: `{ ok, errors }` with D's paths, every broken rule at once.
     * With `userId` (updateUser) the seats and the last ADMIN are judged against what that user holds now.
     */
    validateAssignment: defineCommand(z.object({ organizationId: id, userId: id.optional(), ...request }), async ({ organizationId, userId, ...raw }) => {
      const errors = await licenses.checkAssignment(organizationId, userId, raw);
      return { ok: errors.length === 0, errors };
    }, { callers: ['org-users'] }),
    assignLicenses: defineCommand(
      z.object({ organizationId: id, userId: id, supportAdmin: z.boolean().optional(), callerMayActOnAdmin, ...request }),
      ({ organizationId, userId, supportAdmin, callerMayActOnAdmin: may, ...raw }) => licenses.assign(organizationId, userId, raw, adminTargetGuard(may), { supportAdmin }),
      // identity: the licenses step of bootstrap's creation saga (the first admin).
      { callers: ['org-users', 'identity'] },
    ),
    /** closeAccount gives the seats back through this: refused for the last company admin and for support admins. */
    revokeLicenses: defineCommand(
      z.object({ organizationId: id, userId: id, licenses: z.unknown(), callerMayActOnAdmin }),
      (input) => licenses.revoke(input.organizationId, input.userId, input.licenses, adminTargetGuard(input.callerMayActOnAdmin)),
      { callers: ['org-users'] },
    ),
    /** For a deleted user: frees every seat. Refused for the last company admin and for support admins. */
    releaseUser: defineCommand(
      z.object({ organizationId: id, userId: id, callerMayActOnAdmin }),
      (input) => licenses.release(input.organizationId, input.userId, adminTargetGuard(input.callerMayActOnAdmin)),
      { callers: ['org-users'] },
    ),
    /** The undo of a creation saga's licenses step, and reconciliation: drop the assignment of a user that never came to exist. */
    forgetUser: defineCommand(z.object({ organizationId: id, userId: id }), (input) => licenses.forget(input.organizationId, input.userId), {
      callers: ['org-users', 'identity'],
    }),
    /** The reconciliation job: assignments of users org-users does not know are forgotten. */
    reconcile: defineCommand(z.object({ minAgeSeconds: z.number().int().min(0).max(86_400 * 30) }), (input) =>
      licenses.reconcile(input.minAgeSeconds * 1000, existingUserIds),
      { callers: ['cli'] },
    ),
    /** `usergraph repair`: recounts group members and seats from the assignments; reports each count it changed. */
    repair: defineCommand(z.object({}), () => counters.repair(), { callers: ['cli'] }),
    getUserLicenses: defineCommand(z.object({ organizationId: id, userId: id }), (input) => licenses.licensesOf(input.organizationId, input.userId), {
      callers: ['identity', 'org-users'],
    }),
  };
}
