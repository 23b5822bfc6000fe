import { z } from 'zod';
import { defineCommand } from '@usergraph/service-kit';
import type { LicenseService } from './license-service.js';

const id = z.string().min(1).max(64);

export function createLicenseCommands(licenses: LicenseService) {
  return {
    /** Sets a user's licenses and groups; setting the same values twice is a no-op. */
    assignLicenses: defineCommand(
      z.object({ organizationId: id, userId: id, licenses: z.unknown(), groups: z.unknown(), originGroup: z.unknown().optional() }),
      (input) => licenses.assign(input.organizationId, input.userId, { licenses: input.licenses, groups: input.groups, originGroup: input.originGroup }),
    ),
    /** Whether a user holds each license: for other services' permission checks. */
    getUserLicenses: defineCommand(z.object({ organizationId: id, userId: id }), (input) =>
      licenses.licensesOf(input.organizationId, input.userId),
    ),
  };
}
