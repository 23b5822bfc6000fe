import { z } from 'zod';
import { SAGA_FAULT_POINTS } from '@usergraph/user-lifecycle';
import { AUDIT_FAULT_POINTS, auditRelayEnv } from '@usergraph/audit';
import { baseServiceEnv, expiryEnv, isEncryptionKey, loadEnv, tokenVerificationEnv } from '@usergraph/service-kit';
import { startupBuildEnv } from '@usergraph/service-kit';

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** 24 hours: the retry schedule must span at least this in production (issue 16). */
export const MIN_WEBHOOK_RETRY_SPAN_SECONDS = 86_400;

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
    /** The longest an `auditEvents` page may run in the database (maxTimeMS); past it the query answers QUERY_TIMEOUT. */
    AUDIT_QUERY_MAX_TIME_MS: z.coerce.number().int().min(1).max(60_000).default(15_000),
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
    /**
     * Webhooks: seconds to wait before each retry of a failed delivery, before
     * jitter (each wait is stretched by 0-20 %). One more failure after the last
     * wait gives up and disables the endpoint. The default (5 s, 5 min, 30 min,
     * 2 h, 5 h, 10 h, 10 h) spans about 27 hours; production refuses a
     * schedule under 24 hours, tests compress it.
     */
    WEBHOOK_RETRY_SCHEDULE_SECONDS: z
      .string()
      .default('5,300,1800,7200,18000,36000,36000')
      .transform((v, ctx) => {
        const steps = v.split(',').map((s) => Number(s.trim()));
        if (steps.length === 0 || steps.length > 20 || steps.some((n) => !Number.isFinite(n) || n < 0 || n > 86_400)) {
          ctx.addIssue({ code: 'custom', message: 'must be 1 to 20 comma-separated numbers of seconds, each from 0 to 86400' });
          return z.NEVER;
        }
        return steps;
      }),
    /** Webhooks: one delivery attempt's whole time (connect, send, answer), in milliseconds. */
    WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
    /** Webhooks: how often each org-users instance looks for events to fan out and deliveries due. */
    WEBHOOK_POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
    /** Webhooks: days a finished delivery (delivered or given up) stays listed before it is swept. */
    WEBHOOK_DELIVERY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),
    /** Development and tests only: endpoint URLs may resolve to loopback, private or link-local addresses. */
    WEBHOOK_ALLOW_PRIVATE_URLS: flag.default(false),
    /** Development and tests only: endpoint URLs may be plain http:// (https:// otherwise). */
    WEBHOOK_ALLOW_HTTP_URLS: flag.default(false),
  });

export type OrgUsersEnv = z.output<typeof orgUsersEnvSchema>;

export const loadOrgUsersEnv = (): OrgUsersEnv => loadEnv(orgUsersEnvSchema, 'org-users');
