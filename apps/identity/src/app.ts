import { hkdfSync } from 'node:crypto';
import type { Connection } from 'mongoose';
import { findClaimOwner, isDatabaseReady, isDatabaseUnavailableError, keyedFingerprint, withIdempotencyKey } from '@usergraph/mongo';
import { createSecretBox, errSummary, sendJson, startSubgraphService, type Logger, type RunningService } from '@usergraph/service-kit';
import type { IdentityEnv } from './env.js';
import { createServiceClients } from './clients.js';
import { buildIdentitySchema } from './schema.js';
import { createSigningKeys } from './modules/keys/signing-keys.js';
import { createPasswordHasher } from './modules/passwords/password-hasher.js';
import { createCredentialRepository } from './modules/credentials/credential-repository.js';
import { createSessionRepository } from './modules/sessions/session-repository.js';
import { createSessionService } from './modules/sessions/session-service.js';
import { createLoginService } from './modules/sessions/login-service.js';
import { createLoginThrottle } from './modules/sessions/login-throttle.js';
import { createSessionResolvers } from './modules/sessions/session-resolvers.js';
import { createRegistrationService } from './modules/registration/registration-service.js';
import { createRegistrationResolvers } from './modules/registration/registration-resolvers.js';
import { createRegisterUserService } from './modules/registration/register-user-service.js';
import { createApplicationRepository } from './modules/applications/application-repository.js';
import { createApplicationService } from './modules/applications/application-service.js';
import { createCredentialService } from './modules/credentials/credential-service.js';
import { createPasswordService } from './modules/credentials/password-service.js';
import { createPasswordResolvers } from './modules/credentials/password-resolvers.js';
import { createOAuthTokenRoute } from './modules/applications/oauth-token-route.js';
import { createApplicationResolvers } from './modules/applications/application-resolvers.js';
import { createIdentityCommands } from './modules/identity-commands.js';
import { createOutboxNotifier, createSmtpNotifier } from './modules/verification/notifier.js';
import { createVerificationCodeRepository } from './modules/verification/verification-code-repository.js';
import { createVerificationService } from './modules/verification/verification-service.js';
import { createAccountVerification } from './modules/verification/account-verification.js';
import { createVerificationResolvers } from './modules/verification/verification-resolvers.js';

/** Wires the identity & sessions subgraph on an open database connection; main.ts and tests share it. */
export async function startIdentity(env: IdentityEnv, logger: Logger, conn: Connection): Promise<RunningService> {
  const clients = createServiceClients({ orgUsersUrl: env.ORG_USERS_URL, licensingUrl: env.LICENSING_URL, secret: env.INTERNAL_SERVICE_SECRET });
  const keys = createSigningKeys({
    conn,
    box: createSecretBox(env.SIGNING_KEY_ENCRYPTION_KEY),
    rotationHours: env.SIGNING_KEY_ROTATION_HOURS,
    issuer: env.TOKEN_ISSUER,
    audience: env.TOKEN_AUDIENCE,
  });
  await keys.jwks(); // create the first key at start, not on the first request
  const hasher = createPasswordHasher(
    { memoryCost: env.ARGON2_MEMORY_KIB, timeCost: env.ARGON2_TIME_COST, parallelism: env.ARGON2_PARALLELISM },
    env.HASH_CONCURRENCY,
  );
  const credentials = createCredentialRepository(conn);
  const sessionRepository = createSessionRepository(conn);
  const entered = await sessionRepository.buildOnce(new Date());
  if (entered > 0) logger.info({ entered }, "existing sessions entered in their users' session lists");
  const sessions = createSessionService({
    sessions: sessionRepository,
    keys,
    accessTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    refreshTtlDays: env.REFRESH_TOKEN_TTL_DAYS,
  });
  const login = createLoginService({
    orgUsers: clients.orgUsers,
    credentials,
    findUserIdByUsername: (organizationId, username) => findClaimOwner(conn, 'username', organizationId, username),
    hasher,
    sessions,
    throttle: createLoginThrottle(conn, {
      maxFailuresPerIdentifier: env.LOGIN_MAX_FAILURES_PER_IDENTIFIER,
      maxFailuresPerIp: env.LOGIN_MAX_FAILURES_PER_IP,
      windowMs: env.LOGIN_FAILURE_WINDOW_MINUTES * 60_000,
      lockoutMs: env.LOGIN_LOCKOUT_MINUTES * 60_000,
    }),
  });
  // Keys of their own, derived from the one secret identity already holds.
  const secretKey = Buffer.from(env.SIGNING_KEY_ENCRYPTION_KEY, 'base64');
  const fingerprintKey = Buffer.from(hkdfSync('sha256', secretKey, '', 'usergraph idempotency fingerprints', 32));
  const outbox = env.NOTIFIER === 'outbox' ? createOutboxNotifier(conn) : undefined;
  if (outbox && env.NODE_ENV === 'production') logger.warn('NOTIFIER=outbox in production: codes are stored, not delivered');
  const verification = createVerificationService({
    codes: createVerificationCodeRepository(conn),
    notifier: outbox ?? createSmtpNotifier(env.SMTP_URL!, env.MAIL_FROM),
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
  });

  const applications = createApplicationService({ applications: createApplicationRepository(conn) });
  const registerUserService = createRegisterUserService({
    applications,
    orgUsers: clients.orgUsers,
    minimumAge: env.MIN_REGISTRATION_AGE,
    onUnexpectedError: (err) => logger.error({ err: errSummary(err) }, 'registerUser failed'),
  });
  const credentialService = createCredentialService({
    conn,
    credentials,
    hasher,
    orgUsers: clients.orgUsers,
    revokeSessions: (organizationId, userId) => sessionRepository.revokeForUser(organizationId, userId, new Date()),
  });

  const service = await startSubgraphService({
    name: 'identity',
    env,
    logger,
    schema: buildIdentitySchema([
      createSessionResolvers({ login, sessions, sessionRepository }),
      createRegistrationResolvers({
        registration,
        credentials,
        // C's scope is the calling application: one key per application.
        registerUser: async (ctx, args) =>
          (
            await withIdempotencyKey(
              conn,
              {
                key: ctx.headers.idempotencyKey,
                scope: `registerUser:${ctx.caller.kind === 'application' ? ctx.caller.clientId : 'other'}`,
                fingerprint: () => keyedFingerprint(fingerprintKey, args),
              },
              () => registerUserService.registerUser(ctx.caller, args),
            )
          ).result,
      }),
      createApplicationResolvers({ applications, licensing: clients.licensing, orgUsers: clients.orgUsers }),
      createPasswordResolvers({
        passwords: createPasswordService({ credentials, hasher, sessions: sessionRepository, orgUsers: clients.orgUsers, verification }),
      }),
      createVerificationResolvers({ accounts: createAccountVerification({ orgUsers: clients.orgUsers, verification }) }),
    ]),
    commands: createIdentityCommands({ applications, credentials: credentialService, outbox }),
    ready: () => isDatabaseReady(conn),
    isUnavailable: isDatabaseUnavailableError,
    routes: {
      'GET /.well-known/jwks.json': async (_info, res) =>
        sendJson(res, 200, await keys.jwks(), { 'cache-control': 'public, max-age=300' }),
      'POST /oauth/token': createOAuthTokenRoute({ applications, keys, accessTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS }),
    },
  });
  return {
    ...service,
    async close() {
      await service.close();
      await clients.close();
    },
  };
}
