import { licensingCommands as c } from '@usergraph/contracts';
import { serve } from '@usergraph/service-kit';
import { adminTargetGuard, type LicenseService } from './license-service.js';
import type { createCounterRepair } from './repair.js';

/**
 * The commands org-users (and identity's creation saga) use. All are idempotent:
 * assign sets a complete state, revoke and release converge to one.
 */
export function createLicenseCommands(
  licenses: LicenseService,
  existingUserIds: (organizationId: string, userIds: string[]) => Promise<string[]>,
  counters: ReturnType<typeof createCounterRepair>,
  /** Moves what is left in licensing's audit outboxes to org-users' log (reconcile). */
  drainAudit: () => Promise<number>,
) {
  return [
    serve(c.validateAssignment, async ({ organizationId, userId, ...raw }) => {
      const errors = await licenses.checkAssignment(organizationId, userId, raw);
      return { ok: errors.length === 0, errors };
    }),
    serve(c.assignLicenses, ({ organizationId, userId, supportAdmin, callerMayActOnAdmin: may, audit, ...raw }) =>
      licenses.assign(organizationId, userId, raw, adminTargetGuard(may), { supportAdmin, audit }),
    ),
    serve(c.revokeLicenses, (input) =>
      licenses.revoke(input.organizationId, input.userId, input.licenses, adminTargetGuard(input.callerMayActOnAdmin), input.audit),
    ),
    serve(c.releaseUser, (input) => licenses.release(input.organizationId, input.userId, adminTargetGuard(input.callerMayActOnAdmin))),
    serve(c.forgetUser, (input) => licenses.forget(input.organizationId, input.userId)),
    serve(c.reconcile, async (input) => ({
      ...(await licenses.reconcile(input.minAgeSeconds * 1000, existingUserIds)),
      relayedAuditEvents: await drainAudit(),
    })),
    serve(c.repair, () => counters.repair()),
    serve(c.getUserLicenses, (input) => licenses.licensesOf(input.organizationId, input.userId)),
  ];
}
