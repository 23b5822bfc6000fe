import { z } from 'zod';
import { SAGA_FAULT_POINTS } from '@usergraph/user-lifecycle';
import { AUDIT_FAULT_POINTS, auditRelayEnv } from '@usergraph/audit';
import { baseServiceEnv, expiryEnv, isEncryptionKey, loadEnv, tokenVerificationEnv } from '@usergraph/service-kit';
import { startupBuildEnv } from '@usergraph/service-kit';

export const orgUsersEnvSchema = baseServiceEnv
  .extend(tokenVerificationEnv.shape)
  .extend(expiryEnv.shape)
  .extend(startupBuildEnv.shape)
  .extend(auditRelayEnv.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(4002),
    MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, { error: 'must be a mongodb:// or mongodb+srv:// URI' }),
    MONGODB_DB: z.string().min(1).default('orgusers'),
    LICENSING_URL: z.url(),
    /**
     * Tests only: crash the process at a named point (a step of a user saga hosted
     * here, or between two search-index writes) to prove reconcile and repair. Refused in production.
     */
    FAULT_INJECTION: z.enum([...SAGA_FAULT_POINTS, ...AUDIT_FAULT_POINTS, 'search:after-buckets']).optional(),
    /** Audit events older than this many days are deleted (hourly, and by `usergraph reconcile`). */
    AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),
    /**
     * Reconcile repairs a saga's marker only once it is this old, whatever `--min-age-seconds` asks: far
     * above the longest saga, so reconcile never races a live one (its claim would make that saga undo
     * itself). Below 60 only outside production (tests), like FAULT_INJECTION.
     */
    RECONCILE_MIN_MARKER_AGE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
    /** identity, for D's credentials (createUser, deleteUsers). */
    IDENTITY_URL: z.url(),
    /**
     * 32 bytes, base64: seals A's national IDs (AES-256-GCM). Required in every
     * mode; in development `npm start` generates one and keeps it in
     * <USERGRAPH_DATA_DIR>/secrets.json, so stored IDs stay readable across runs.
     */
    NATIONAL_ID_ENCRYPTION_KEY: z.string().refine(isEncryptionKey, { error: 'must be 32 bytes encoded in base64' }),
  });

export type OrgUsersEnv = z.output<typeof orgUsersEnvSchema>;

export const loadOrgUsersEnv = (): OrgUsersEnv => loadEnv(orgUsersEnvSchema, 'org-users');
