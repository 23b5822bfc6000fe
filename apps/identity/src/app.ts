import { hkdfSync } from 'node:crypto';
import type { Connection } from 'mongoose';
import {
  findClaimOwner,
  idempotencyCallerOf,
  isDatabaseReady,
  isDatabaseUnavailableError,
  keyedFingerprint,
  startExpiry,
  withIdempotencyKey,
} from '@usergraph/mongo';
import {
  createClientIpResolver,
  createSecretBox,
  errSummary,
  sendJson,
  sensitiveMutationLimitRule,
  startSubgraphService,
  createServiceMetrics,
  createRegistrationCounter,
  registerMongoPoolMetrics,
  undefinedIfNotFound,
  type Logger,
  type RunningService,
} from '@usergraph/service-kit';
import type { IdentityEnv } from './env.js';
import { createServiceClients } from './clients.js';
import { buildIdentitySchema } from './schema.js';
import { createSigningKeys } from './modules/keys/signing-keys.js';
import { createPasswordHasher } from './modules/passwords/password-hasher.js';
import { countLogins, createHashMetrics, createLimiterMetrics, registerUserOutcome } from './identity-metrics.js';
import { createCredentialRepository } from './modules/credentials/credential-repository.js';
import { createSessionRepository } from './modules/sessions/session-repository.js';
import { createSessionService } from './modules/sessions/session-service.js';
import { buildSessionListsAtStart } from './startup-build.js';
import { createLoginService } from './modules/sessions/login-service.js';
import { createCallerLiveness } from './modules/sessions/caller-liveness.js';
import { createRateLimiterFactory } from './modules/limits/rate-limits.js';
import { identityExpiringCollections } from './modules/expiring-collections.js';
import { createAccountLimits, userAccountKey } from './modules/limits/account-limits.js';
import { createBackgroundQueue } from './modules/background/background-queue.js';
import { createSessionResolvers } from './modules/sessions/session-resolvers.js';
import { createRegistrationService } from './modules/registration/registration-service.js';
import { createRegistrationResolvers } from './modules/registration/registration-resolvers.js';
import { createRegisterUserService, type RegisterUserResult } from './modules/registration/register-user-service.js';
import { createDirectoryAccess } from './modules/registration/directory-access.js';
import { createApplicationRepository } from './modules/applications/application-repository.js';
import { createApplicationService } from './modules/applications/application-service.js';
import { createCredentialService } from './modules/credentials/credential-service.js';
import { createPasswordService } from './modules/credentials/password-service.js';
import { createPasswordResolvers } from './modules/credentials/password-resolvers.js';
import { createOAuthTokenRoute } from './modules/applications/oauth-token-route.js';
import { createApplicationResolvers } from './modules/applications/application-resolvers.js';
import { createIdentityCommands } from './modules/identity-commands.js';
import { createOutbox, createOutboxSender } from './modules/verification/notifier.js';
import { createVerificationCodeRepository } from './modules/verification/verification-code-repository.js';
import { createVerificationService } from './modules/verification/verification-service.js';
import { createAccountVerification } from './modules/verification/account-verification.js';
import { createVerificationResolvers } from './modules/verification/verification-resolvers.js';
import { createIdentityAudit } from './modules/audit/identity-audit.js';
import { createAuditOrigin, createRefusalAudit } from '@usergraph/audit';
import { IDENTITY_REFUSALS } from './audit-refusals.js';

/** C's failure, thrown out of the idempotent step so its key is freed, then answered as the value it is. */
class RegisterUserFailure extends Error {
  constructor(readonly result: RegisterUserResult) {
    super('registerUser failed');
  }
}

/** Wires the identity & sessions subgraph on an open database connection; main.ts and tests share it. */
export async function startIdentity(env: IdentityEnv, logger: Logger, conn: Connection): Promise<RunningService> {
  const metrics = createServiceMetrics('identity', env.METRICS_PORT !== undefined);
  registerMongoPoolMetrics(metrics.registry, conn.getClient());
  if (env.FAULT_INJECTION && env.NODE_ENV === 'production') throw new Error('FAULT_INJECTION is for tests and is refused in production');
  const crashAt = (point: string) => {
    if (env.FAULT_INJECTION === point) {
      logger.warn({ point }, 'fault injection: crashing now');
      process.kill(process.pid, 'SIGKILL');
    }
  };
  const clients = createServiceClients({
    orgUsersUrl: env.ORG_USERS_URL,
    licensingUrl: env.LICENSING_URL,
    secret: env.INTERNAL_SERVICE_SECRET,
  });
  const keys = createSigningKeys({
    conn,
    box: createSecretBox(env.SIGNING_KEY_ENCRYPTION_KEY),
    rotationHours: env.SIGNING_KEY_ROTATION_HOURS,
    issuer: env.TOKEN_ISSUER,
    audience: env.TOKEN_AUDIENCE,
  });
  await keys.jwks(); // create the first key at start, not on the first request
  const hashMetrics = createHashMetrics();
  const hasher = createPasswordHasher(
    { memoryCost: env.ARGON2_MEMORY_KIB, timeCost: env.ARGON2_TIME_COST, parallelism: env.ARGON2_PARALLELISM },
    env.HASH_CONCURRENCY,
    env.HASH_QUEUE_MAX,
    hashMetrics.observeHashTime,
  );
  const rateLimiters = createRateLimiterFactory(conn, createLimiterMetrics(metrics.registry));
  // TTL indexes on MongoDB, a bounded sweeper on the embedded store.
  const expiry = await startExpiry(conn, identityExpiringCollections(env), {
    intervalMs: env.EXPIRY_SWEEP_INTERVAL_SECONDS * 1000,
    logger,
  });
  const limits = createAccountLimits(rateLimiters, {
    perIp: env.RATE_LIMIT_PER_IP,
    perAccount: env.RATE_LIMIT_PER_ACCOUNT,
    windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS,
    loginFailuresPerAccount: env.LOGIN_MAX_FAILURES_PER_IDENTIFIER,
    loginFailuresPerIp: env.LOGIN_MAX_FAILURES_PER_IP,
    loginWindowSeconds: env.LOGIN_FAILURE_WINDOW_MINUTES * 60,
    loginLockoutSeconds: env.LOGIN_LOCKOUT_MINUTES * 60,
    codesPerAccountPerHour: env.CODE_ISSUE_MAX_PER_ACCOUNT,
    codesPerIpPerHour: env.CODE_ISSUE_MAX_PER_IP,
    codeFailuresPerAccount: env.CODE_MAX_FAILURES,
    codeLockoutSeconds: env.CODE_LOCKOUT_MINUTES * 60,
  });
  const background = createBackgroundQueue(logger, 1000);
  const credentials = createCredentialRepository(conn);
  // org-users owns the status (no profile: credentials left by a failed write, for reconcile); asked only when a
  // session is about to be issued (a right password, a registration, a refresh).
  const openAccountCredential = async (organizationId: string, userId: string) => {
    const [credential, profile] = await Promise.all([
      credentials.findById(organizationId, userId),
      clients.orgUsers.getProfile(organizationId, userId).catch(undefinedIfNotFound),
    ]);
    // A profile a user saga still holds is not (or no longer) a user: no session for it.
    return profile !== undefined && profile.status !== 'CLOSED' && !profile.pending ? credential : null;
  };
  // Logins, failures, lockouts...: to identity's audit outbox, relayed to org-users' log.
  const audit = createIdentityAudit({
    conn,
    orgUsers: clients.orgUsers,
    logger,
    relayIntervalMs: env.AUDIT_RELAY_INTERVAL_SECONDS * 1000,
    faults: crashAt,
  });
  const sessionRepository = createSessionRepository(conn);
  await buildSessionListsAtStart(conn, sessionRepository, env, logger);
  const sessions = createSessionService({
    sessions: sessionRepository,
    keys,
    accessTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    refreshTtlDays: env.REFRESH_TOKEN_TTL_DAYS,
    maxSessionDays: env.SESSION_MAX_DAYS,
    openAccountCredential,
    limitRefresh: (organizationId, userId) => limits.perRefresh(userAccountKey(organizationId, userId)),
  });
  const login = createLoginService({
    orgUsers: clients.orgUsers,
    credentials,
    findUserIdByUsername: (organizationId, username) => findClaimOwner(conn, 'username', organizationId, username),
    hasher,
    sessions,
    limits,
    audit,
    failureWindowSeconds: env.LOGIN_FAILURE_WINDOW_MINUTES * 60,
  });
  login.login = countLogins(metrics.registry, login.login);
  const registrations = createRegistrationCounter(metrics.registry, ['B', 'C']);
  // Keys of their own, derived from the one secret identity already holds.
  const secretKey = Buffer.from(env.SIGNING_KEY_ENCRYPTION_KEY, 'base64');
  const fingerprintKey = Buffer.from(hkdfSync('sha256', secretKey, '', 'usergraph idempotency fingerprints', 32));
  // Codes are always written to the stored outbox; with SMTP a background sender delivers them.
  let sender: ReturnType<typeof createOutboxSender> | undefined;
  const outbox = createOutbox(conn, { deliver: env.NOTIFIER === 'smtp', onStored: () => sender?.wake() });
  if (env.NOTIFIER === 'smtp') sender = createOutboxSender({ outbox, smtpUrl: env.SMTP_URL!, from: env.MAIL_FROM, logger });
  // Only with ALLOW_OUTBOX_NOTIFIER_IN_PRODUCTION=1 (env.ts refuses it otherwise).
  else if (env.NODE_ENV === 'production') logger.warn('NOTIFIER=outbox in production: codes are stored, not delivered');
  const verification = createVerificationService({
    codes: createVerificationCodeRepository(conn),
    notifier: outbox,
    hmacKey: Buffer.from(hkdfSync('sha256', secretKey, '', 'usergraph one-time codes', 32)),
  });
  const registration = createRegistrationService({
    conn,
    fingerprintKey,
    orgUsers: clients.orgUsers,
    credentials,
    hasher,
    sessions,
    verification,
    publicOrganizationSlug: env.PUBLIC_ORGANIZATION_SLUG,
    limits,
    logger,
    faults: crashAt,
  });
  registration.register = registrations.counted('B', registration.register);

  const applicationRepository = createApplicationRepository(conn);
  const applications = createApplicationService({ applications: applicationRepository, kickAudit: audit.kickApplication });
  const callerLiveness = createCallerLiveness({ sessions: sessionRepository, credentials, applications: applicationRepository });
  // Who acts, as audit events name them (packages/audit's one helper): a support admin is told apart, as licensing says.
  const auditOrigin = createAuditOrigin((c) => clients.licensing.isSupportAdmin(c.organizationId, c.userId));
  // Refused administrative mutations (docs/audit-log.md): recorded, at most AUDIT_REFUSED_PER_MINUTE per caller and action.
  const refusals = createRefusalAudit({ record: audit.record, originOf: auditOrigin, perMinute: env.AUDIT_REFUSED_PER_MINUTE, logger });
  const registerUserService = createRegisterUserService({
    applications,
    refused: refusals.refused,
    orgUsers: clients.orgUsers,
    minimumAge: env.MIN_REGISTRATION_AGE,
    onUnexpectedError: (err) => logger.error({ err: errSummary(err) }, 'registerUser failed'),
    logger,
    faults: crashAt,
  });
  registerUserService.registerUser = registrations.counted('C', registerUserService.registerUser, registerUserOutcome);
  const credentialService = createCredentialService({
    conn,
    credentials,
    hasher,
    orgUsers: clients.orgUsers,
    licensing: clients.licensing,
    revokeSessions: (organizationId, userId) => sessionRepository.revokeForUser(organizationId, userId, new Date()),
    logger,
    faults: crashAt,
  });

  const service = await startSubgraphService({
    name: 'identity',
    metrics,
    env,
    logger,
    schema: buildIdentitySchema([
      createSessionResolvers({ login, sessions, sessionRepository, credentials, audit }),
      createRegistrationResolvers({
        registration,
        credentials,
        requireDirectoryReader: createDirectoryAccess({ licensing: clients.licensing, orgUsers: clients.orgUsers }),
        // C's keys belong to the calling application. Only a success is kept:
        // a failure (C answers them as values) leaves the key free for the retry.
        registerUser: async (ctx, args) => {
          try {
            return (
              await withIdempotencyKey(
                conn,
                {
                  key: ctx.headers.idempotencyKey,
                  scope: 'registerUser',
                  caller: idempotencyCallerOf(ctx.caller),
                  logger,
                  fingerprint: () => keyedFingerprint(fingerprintKey, args),
                },
                async () => {
                  const result = await registerUserService.registerUser(ctx.caller, args, () => auditOrigin(ctx));
                  // Thrown out of the idempotent step (which frees the key), caught right below.
                  if (!result.success) throw new RegisterUserFailure(result);
                  return result;
                },
              )
            ).result;
          } catch (err) {
            if (err instanceof RegisterUserFailure) return err.result;
            throw err;
          }
        },
      }),
      refusals.wrap(
        createApplicationResolvers({ applications, licensing: clients.licensing, orgUsers: clients.orgUsers, auditOrigin }),
        IDENTITY_REFUSALS,
      ),
      createPasswordResolvers({
        passwords: createPasswordService({
          credentials,
          hasher,
          sessions: sessionRepository,
          orgUsers: clients.orgUsers,
          verification,
          limits,
          background,
          audit,
        }),
      }),
      createVerificationResolvers({
        accounts: createAccountVerification({ orgUsers: clients.orgUsers, verification, limits, background }),
        auditOrigin,
      }),
    ]),
    commands: createIdentityCommands({
      applications,
      credentials: credentialService,
      revokeSessions: (organizationId, userId) => sessionRepository.revokeForUser(organizationId, userId, new Date()),
      // Development only: with SMTP the outbox holds undelivered codes, never listed.
      outbox: env.NOTIFIER === 'outbox' ? outbox : undefined,
      callerLiveness,
      drainAudit: audit.drain,
    }),
    // An application's own calls here (C's registerUser) check its status live and answer AUTH-0030 in C's style.
    callerLiveness: (caller) => (caller.kind === 'application' ? Promise.resolve({ live: true }) : callerLiveness(caller)),
    // Also at the gateway; here too for direct calls and for split plans.
    validationRules: [sensitiveMutationLimitRule()],
    ready: () => isDatabaseReady(conn),
    isUnavailable: isDatabaseUnavailableError,
    routes: {
      'GET /.well-known/jwks.json': async (_info, res) => sendJson(res, 200, await keys.jwks(), { 'cache-control': 'public, max-age=300' }),
      'POST /oauth/token': createOAuthTokenRoute({
        applications,
        keys,
        accessTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
        limits,
        clientIpOf: createClientIpResolver({ service: 'identity', internalSecret: env.INTERNAL_SERVICE_SECRET }),
      }),
    },
  });
  hashMetrics.register(service.metrics.registry, hasher);
  audit.start();
  return {
    ...service,
    async close() {
      await service.close();
      await audit.stop();
      await background.idle();
      await sender?.stop();
      await expiry.stop();
      await clients.close();
    },
  };
}
