import type { Connection } from 'mongoose';
import { orgUsersCommands } from '@usergraph/contracts';
import {
  createRateLimiterFactory,
  IDEMPOTENCY_KEYS_EXPIRY,
  isDatabaseReady,
  isDatabaseUnavailableError,
  RATE_LIMITS_EXPIRY,
  startExpiry,
} from '@usergraph/mongo';
import {
  isNotFound,
  serve,
  mergeResolvers,
  startSubgraphService,
  createServiceMetrics,
  createRegistrationCounter,
  registerMongoPoolMetrics,
  type Logger,
  type RunningService,
} from '@usergraph/service-kit';
import type { OrgUsersEnv } from './env.js';
import { buildOrgUsersSchema, orgUsersTypeDefs } from './schema.js';
import type { Resolvers } from './generated/resolvers-types.js';
import { createAccessPolicy } from './access-policy.js';
import { createOrganizationRepository } from './modules/organizations/organization-repository.js';
import { createOrganizationService } from './modules/organizations/organization-service.js';
import { createOrganizationResolvers } from './modules/organizations/organization-resolvers.js';
import { createOrganizationCommands } from './modules/organizations/organization-commands.js';
import { createUserRepository } from './modules/users/user-repository.js';
import { createUserService } from './modules/users/user-service.js';
import { createSearchIndex } from './modules/users/search-index.js';
import { createUserResolvers } from './modules/users/user-resolvers.js';
import { createUserCommands } from './modules/users/user-commands.js';
import { createConsumerModule } from './modules/consumer/consumer-module.js';
import { createUserAdminService } from './modules/user-admin/user-admin-service.js';
import { createUserAdminResolvers } from './modules/user-admin/user-admin-resolvers.js';
import { createProfileReconciler } from './modules/user-admin/reconcile.js';
import { repairSearchIndex } from './modules/users/search-repair.js';
import { buildSearchIndexAtStart } from './startup-build.js';
import { createIdentityClient, createLicensingClient } from './clients.js';
import { MIN_WEBHOOK_RETRY_SPAN_SECONDS } from './env.js';
import { openWebhookCollections, WEBHOOK_DELIVERIES_COLLECTION } from './modules/webhooks/webhook-store.js';
import { createWebhookWorker } from './modules/webhooks/webhook-worker.js';
import { webhookMetrics } from './modules/webhooks/webhook-metrics.js';
import { createWebhookService } from './modules/webhooks/webhook-service.js';
import { createWebhookResolvers } from './modules/webhooks/webhook-resolvers.js';
import { createAuditModule } from './modules/audit/audit-module.js';
import { withRefusals } from './audit-refusals.js';
import { createRefusalAudit } from '@usergraph/audit';

/** Wires the org-users subgraph on an open database connection; main.ts and tests share it. */
export async function startOrgUsers(env: OrgUsersEnv, logger: Logger, conn: Connection): Promise<RunningService> {
  const metrics = createServiceMetrics('org-users', env.METRICS_PORT !== undefined);
  registerMongoPoolMetrics(metrics.registry, conn.getClient());
  const registrations = createRegistrationCounter(metrics.registry, ['A', 'D']);
  const organizationRepository = createOrganizationRepository(conn);
  const userRepository = createUserRepository(conn);
  if (env.FAULT_INJECTION && env.NODE_ENV === 'production') throw new Error('FAULT_INJECTION is for tests and is refused in production');
  if (env.RECONCILE_MIN_MARKER_AGE_SECONDS < 60 && env.NODE_ENV === 'production')
    throw new Error('RECONCILE_MIN_MARKER_AGE_SECONDS below 60 is for tests and is refused in production');
  const retrySpan = env.WEBHOOK_RETRY_SCHEDULE_SECONDS.reduce((a, b) => a + b, 0);
  if (env.NODE_ENV === 'production' && retrySpan < MIN_WEBHOOK_RETRY_SPAN_SECONDS)
    throw new Error(
      `WEBHOOK_RETRY_SCHEDULE_SECONDS spans ${retrySpan} s; production needs at least ${MIN_WEBHOOK_RETRY_SPAN_SECONDS} (24 hours)`,
    );
  if ((env.WEBHOOK_ALLOW_PRIVATE_URLS || env.WEBHOOK_ALLOW_HTTP_URLS) && env.NODE_ENV === 'production')
    throw new Error('WEBHOOK_ALLOW_PRIVATE_URLS and WEBHOOK_ALLOW_HTTP_URLS are for development and tests and are refused in production');
  const crashAt = (point: string) => {
    if (env.FAULT_INJECTION === point) {
      logger.warn({ point }, 'fault injection: crashing now');
      process.kill(process.pid, 'SIGKILL');
    }
  };
  const searchIndex = createSearchIndex(conn, crashAt);
  await buildSearchIndexAtStart(conn, { organizations: organizationRepository, users: userRepository, searchIndex }, env, logger);
  // The audit log (docs/audit-log.md): org-users' own events and those the other services relay.
  const audit = await createAuditModule({
    conn,
    logger,
    retentionDays: env.AUDIT_RETENTION_DAYS,
    queryMaxTimeMs: env.AUDIT_QUERY_MAX_TIME_MS,
    relayIntervalMs: env.AUDIT_RELAY_INTERVAL_SECONDS * 1000,
    sweepIntervalMs: 3_600_000,
    faults: crashAt,
  });
  const organizations = createOrganizationService({ conn, organizations: organizationRepository, kickAudit: audit.kickOrganization });
  const users = createUserService({ conn, users: userRepository, searchIndex, logger, audit });

  if (env.NODE_ENV !== 'production') {
    logger.warn(
      'NATIONAL_ID_ENCRYPTION_KEY: outside production, `npm start` generates this key and keeps it in ' +
        '<USERGRAPH_DATA_DIR, default .data>/secrets.json; production must supply its own',
    );
  }
  const licensing = createLicensingClient({ baseUrl: env.LICENSING_URL, secret: env.INTERNAL_SERVICE_SECRET });
  const identity = createIdentityClient({ baseUrl: env.IDENTITY_URL, secret: env.INTERNAL_SERVICE_SECRET });
  // Every read and write of a user is decided in access-policy.ts.
  const access = createAccessPolicy({
    licensing,
    profileOf: (organizationId, userId) =>
      users.getProfile(organizationId, userId).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      }),
  });
  // Org-users' limits, in its rate_limits collection, shared by its instances: A's account writes, webhook mutations.
  const limiters = createRateLimiterFactory(conn);
  const consumer = createConsumerModule({
    conn,
    limiters,
    users,
    organizations,
    access,
    nationalIdKey: env.NATIONAL_ID_ENCRYPTION_KEY,
    identity,
    logger,
    licensing,
    registrations,
    audit,
  });
  // Refused administrative mutations (docs/audit-log.md): recorded, at most AUDIT_REFUSED_PER_MINUTE per caller.
  const refusals = createRefusalAudit({
    record: audit.record,
    originOf: access.auditOrigin,
    perMinute: env.AUDIT_REFUSED_PER_MINUTE,
    logger,
  });
  const admin = createUserAdminService({
    users,
    identity,
    licensing,
    policy: access,
    faults: crashAt,
    logger,
    refused: refusals.refused,
  });
  // D answers its failures in the payload: every broken rule at once, taken values among them.
  admin.createUser = registrations.counted('D', admin.createUser, (payload) => (payload.errors.length > 0 ? 'invalid' : 'success'));

  const reconcile = createProfileReconciler({ users, identity, licensing, logger });

  // Webhooks: endpoints and deliveries are stored; every instance runs the dispatcher and the delivery worker.
  const webhookCollections = await openWebhookCollections(conn, env.NATIONAL_ID_ENCRYPTION_KEY);
  const urlPolicy = { allowPrivate: env.WEBHOOK_ALLOW_PRIVATE_URLS, allowHttp: env.WEBHOOK_ALLOW_HTTP_URLS };
  if (urlPolicy.allowPrivate || urlPolicy.allowHttp)
    logger.warn(urlPolicy, 'webhooks: endpoint URLs may be private or plain http (development and tests only)');
  const webhookWorker = createWebhookWorker(
    webhookCollections,
    {
      retryScheduleSeconds: env.WEBHOOK_RETRY_SCHEDULE_SECONDS,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      pollIntervalMs: env.WEBHOOK_POLL_INTERVAL_MS,
      retentionDays: env.WEBHOOK_DELIVERY_RETENTION_DAYS,
      urlPolicy,
      onCount: webhookMetrics(metrics.registry),
      relayAudit: audit.kickEndpoint,
    },
    logger,
  );
  // Events that map to a webhook reach audit_events from every service (recordAuditEvents) and from org-users' own
  // relay: the worker fans them out at once rather than at its next poll.
  audit.onWebhookEvents(() => webhookWorker.notify());
  const webhooks = createWebhookService({
    col: webhookCollections,
    policy: access,
    urlPolicy,
    relayAudit: audit.kickEndpoint,
    notify: () => webhookWorker.notify(),
    limiters,
  });

  // Idempotency-Key records of A's registerOrganizationUser: TTL index on MongoDB, sweeper on the embedded store.
  // Finished webhook deliveries: after WEBHOOK_DELIVERY_RETENTION_DAYS (their expiresAt).
  const expiry = await startExpiry(
    conn,
    [IDEMPOTENCY_KEYS_EXPIRY, { collection: WEBHOOK_DELIVERIES_COLLECTION, field: 'expiresAt', afterSeconds: 0 }, RATE_LIMITS_EXPIRY],
    { intervalMs: env.EXPIRY_SWEEP_INTERVAL_SECONDS * 1000, logger },
  );
  const service = await startSubgraphService({
    name: 'org-users',
    metrics,
    env,
    logger,
    schema: buildOrgUsersSchema([
      guardUserFields(
        access,
        withRefusals(
          refusals,
          mergeResolvers([
            createOrganizationResolvers({ organizations }),
            createUserResolvers({ users, organizations, policy: access }),
            consumer.resolvers,
            audit.resolvers(access),
            createUserAdminResolvers({
              admin,
              organizations,
              auditOrigin: access.auditOrigin,
            }),
            createWebhookResolvers({ webhooks }),
          ]),
        ),
      ),
    ]),
    commands: [
      ...createOrganizationCommands(organizations),
      ...createUserCommands(users),
      // The reconciliation job: finishes the user sagas a crash interrupted (see user-admin/reconcile.ts).
      // Markers younger than the floor belong to sagas that may still be running.
      serve(orgUsersCommands.reconcile, async (input) => ({
        ...(await reconcile(Math.max(input.minAgeSeconds, env.RECONCILE_MIN_MARKER_AGE_SECONDS) * 1000)),
        // After the sagas: a deletion reconcile finished has just put its event in the outbox.
        ...(await audit.reconcile()),
      })),
      ...audit.commands,
      serve(orgUsersCommands.repair, () =>
        repairSearchIndex({ organizations: organizationRepository, users: userRepository, searchIndex }),
      ),
    ],
    ready: () => isDatabaseReady(conn),
    isUnavailable: isDatabaseUnavailableError,
    callerLiveness: identity.callerLiveness,
  });
  audit.start();
  return {
    ...service,
    async close() {
      await service.close();
      await webhookWorker.stop();
      await audit.stop();
      await expiry.stop();
      await licensing.close();
      await identity.close();
    },
  };
}

/** Every User field resolver passes the access policy (see access-policy.ts). */
function guardUserFields(policy: ReturnType<typeof createAccessPolicy>, resolvers: Resolvers): Resolvers {
  return { ...resolvers, User: policy.guardUserFields(orgUsersTypeDefs(), resolvers.User ?? {}) };
}
