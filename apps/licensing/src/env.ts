import { z } from 'zod';
import { baseServiceEnv, loadEnv, tokenVerificationEnv } from '@usergraph/service-kit';
import { startupBuildEnv } from '@usergraph/service-kit';
import { AUDIT_FAULT_POINTS, auditRelayEnv } from '@usergraph/audit';

export const licensingEnvSchema = baseServiceEnv
  .extend(tokenVerificationEnv.shape)
  .extend(startupBuildEnv.shape)
  .extend(auditRelayEnv.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(4003),
    MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, { error: 'must be a mongodb:// or mongodb+srv:// URI' }),
    MONGODB_DB: z.string().min(1).default('licensing'),
    /** org-users, asked whether user ids belong to an organization. */
    ORG_USERS_URL: z.url(),
    /** identity, asked whether a token's session or application still stands. */
    IDENTITY_URL: z.url(),
    /** Tests only: kills the process between two writes of an assignment change (refused in production). */
    FAULT_INJECTION: z.enum(['assign:after-seats', 'assign:after-assignment', ...AUDIT_FAULT_POINTS]).optional(),
  });

export type LicensingEnv = z.output<typeof licensingEnvSchema>;

export const loadLicensingEnv = (): LicensingEnv => loadEnv(licensingEnvSchema, 'licensing');
