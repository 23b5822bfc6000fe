import { z } from 'zod';
import { SAGA_FAULT_POINTS } from '@usergraph/user-lifecycle';
import { AUDIT_FAULT_POINTS, auditRelayEnv } from '@usergraph/audit';
import { baseServiceEnv, envPrimitives, expiryEnv, isEncryptionKey, loadEnv, tokenVerificationEnv } from '@usergraph/service-kit';
import { startupBuildEnv } from '@usergraph/service-kit';

const positiveInt = z.coerce.number().int().positive();

export const identityEnvSchema = baseServiceEnv
  .extend(tokenVerificationEnv.shape)
  .extend(expiryEnv.shape)
  .extend(startupBuildEnv.shape)
  .extend(auditRelayEnv.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(4001),
    MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, { error: 'must be a mongodb:// or mongodb+srv:// URI' }),
    MONGODB_DB: z.string().min(1).default('identity'),
    ORG_USERS_URL: z.url(),
    LICENSING_URL: z.url(),
    /** Tests only: crash the process at a step of a user saga hosted here (B, C, bootstrap) to prove reconcile. Refused in production. */
    FAULT_INJECTION: z.enum([...SAGA_FAULT_POINTS, ...AUDIT_FAULT_POINTS]).optional(),
    /** 32 bytes, base64: encrypts the private signing keys at rest. */
    SIGNING_KEY_ENCRYPTION_KEY: z.string().refine(isEncryptionKey, { error: 'must be 32 bytes encoded in base64' }),
    /** How long a signing key stays current; the previous one stays in the JWKS for one more period. */
    SIGNING_KEY_ROTATION_HOURS: positiveInt.default(24 * 7),
    ACCESS_TOKEN_TTL_SECONDS: positiveInt.default(15 * 60),
    /** Fractions allowed (the bench's expiry scenario uses seconds); a session is deleted once its refresh expiry passes. */
    REFRESH_TOKEN_TTL_DAYS: z.coerce.number().positive().default(30),
    /** A login's absolute lifetime: refreshing slides its expiry by REFRESH_TOKEN_TTL_DAYS, never past this many days after sign-in. */
    SESSION_MAX_DAYS: z.coerce.number().positive().default(90),
    /** OWASP minimum for argon2id is m=19 MiB, t=2, p=1. */
    ARGON2_MEMORY_KIB: z.coerce.number().int().min(19_456).default(19_456),
    ARGON2_TIME_COST: z.coerce.number().int().min(2).default(2),
    ARGON2_PARALLELISM: z.coerce.number().int().min(1).default(1),
    /** Bound on password hashes in flight, so hashing cannot starve everything else. */
    HASH_CONCURRENCY: positiveInt.default(2),
    /** Hashes allowed to wait for a slot; beyond it requests are shed with RATE_LIMITED instead of queueing without bound. */
    HASH_QUEUE_MAX: positiveInt.default(32),
    /** Organization used by B's `register` when no x-organization-slug header is sent. */
    PUBLIC_ORGANIZATION_SLUG: z.string().min(1).default('public'),
    /**
     * Failed logins allowed per account (its user id, or the canonical identifier when it names
     * no account: E.164 phone, normalized email, lower-cased username), and per client IP, within
     * the window before a lockout. Each attempt is reserved before the password is checked.
     */
    LOGIN_MAX_FAILURES_PER_IDENTIFIER: positiveInt.default(5),
    LOGIN_MAX_FAILURES_PER_IP: positiveInt.default(50),
    LOGIN_FAILURE_WINDOW_MINUTES: positiveInt.default(15),
    LOGIN_LOCKOUT_MINUTES: positiveInt.default(15),
    /**
     * Anonymous operations (register, login, verifyEmail, resendVerificationCode, requestPasswordReset, resetPassword,
     * POST /oauth/token) per client IP, and per account named, within RATE_LIMIT_WINDOW_SECONDS.
     */
    RATE_LIMIT_PER_IP: positiveInt.default(60),
    RATE_LIMIT_PER_ACCOUNT: positiveInt.default(10),
    RATE_LIMIT_WINDOW_SECONDS: positiveInt.default(60),
    /** Verification and reset codes sent per account, and per client IP, per hour. */
    CODE_ISSUE_MAX_PER_ACCOUNT: positiveInt.default(5),
    CODE_ISSUE_MAX_PER_IP: positiveInt.default(20),
    /**
     * Wrong codes per account, across every code it is sent, within CODE_LOCKOUT_MINUTES; one more
     * and its codes are refused for CODE_LOCKOUT_MINUTES. A day by default: at most 10 guesses a day
     * at a 6-digit code.
     */
    CODE_MAX_FAILURES: positiveInt.default(10),
    CODE_LOCKOUT_MINUTES: positiveInt.default(24 * 60),
    /** C's `registerUser`: the youngest age, in years, at which a user may be registered. */
    MIN_REGISTRATION_AGE: z.coerce.number().int().min(0).max(150).default(18),
    /** How codes reach users: `outbox` (development: read with `npm run usergraph -- outbox`) or `smtp`. */
    NOTIFIER: z.enum(['outbox', 'smtp']).default('outbox'),
    /** `1` lets NODE_ENV=production start with NOTIFIER=outbox (codes stored, never delivered): for test stacks only. */
    ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION: envPrimitives.booleanFlag.default(false),
    /** For NOTIFIER=smtp, e.g. smtps://user:pass@smtp.example.com:465. */
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\//, { error: 'must be an smtp:// or smtps:// URL' })
      .optional(),
    MAIL_FROM: z.string().min(3).default('usergraph <no-reply@localhost>'),
    /** How long a message stays in the outbox: undelivered (SMTP failing) or, with NOTIFIER=outbox, unread. Delivered ones are deleted at once. */
    OUTBOX_RETENTION_SECONDS: positiveInt.default(24 * 3600),
  })
  .refine((env) => env.NOTIFIER !== 'smtp' || env.SMTP_URL, { error: 'SMTP_URL is required when NOTIFIER=smtp', path: ['SMTP_URL'] })
  // Codes left in the outbox in production never reach anyone (issue 12, second pass).
  .refine((env) => env.NODE_ENV !== 'production' || env.NOTIFIER === 'smtp' || env.ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION, {
    error:
      'must be smtp when NODE_ENV=production (set NOTIFIER=smtp and SMTP_URL; ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION=1 keeps codes undelivered in the outbox)',
    path: ['NOTIFIER'],
  });

export type IdentityEnv = z.output<typeof identityEnvSchema>;

export const loadIdentityEnv = (): IdentityEnv => loadEnv(identityEnvSchema, 'identity');
