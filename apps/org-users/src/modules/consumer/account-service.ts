import type { AuditOrigin } from '@usergraph/audit';
import type { Limiter } from '@usergraph/mongo';
import { DomainError, isNotFound, type Caller } from '@usergraph/service-kit';
import type { ProfileDto, UserService } from '../users/user-service.js';
import type { AccessPolicy } from '../../access-policy.js';
import type { ConnectionRepository } from './connection-repository.js';
import type { IdentityClient, LicensingClient } from '../../clients.js';
import { agreementVersionSchema, notificationPreferencesSchema, parseInput, userIdSchema } from './consumer-inputs.js';

/** A `userId` that names no user of the organization is NOT_FOUND naming that argument. */
async function naming<T>(userIdGiven: boolean, write: Promise<T>): Promise<T> {
  return write.catch((err: unknown) => {
    if (userIdGiven && isNotFound(err) && err.fields.length === 0) {
      throw new DomainError('NOT_FOUND', err.message, [{ path: ['userId'], message: 'does not name a user of your organization' }]);
    }
    throw err;
  });
}

/**
 * Legal agreement and notification preference writes on one user, per minute (issue 17): each is a
 * `user.updated` in the organization's trail and a POST to each of its webhook receivers, and any
 * self-signed-up customer may make them on their own account.
 */
export const ACCOUNT_WRITE_LIMIT = { points: 20, windowSeconds: 60 };

/** Account state (A): sync time, legal agreements, notification preferences, closing. */
export function createAccountService(deps: {
  users: UserService;
  connections: ConnectionRepository;
  access: AccessPolicy;
  identity: Pick<IdentityClient, 'revokeSessions'>;
  licensing: Pick<LicensingClient, 'revokeAllLicenses'>;
  /** ACCOUNT_WRITE_LIMIT, keyed by the user written. */
  accountWrites: Limiter;
}) {
  const withinWriteLimit = (target: { organizationId: string; userId: string }) =>
    deps.accountWrites.consume(`${target.organizationId}:${target.userId}`, 'Too many changes to this account; retry later');

  /** Organization-scoped: sets the user's syncedAt, then each of its connections' lastSyncedAt. */
  async function markUserSynced(caller: Caller, rawUserId: unknown, origin: AuditOrigin): Promise<ProfileDto> {
    const organizationId = await deps.access.requireOrganizationScope(caller);
    const userId = parseInput(userIdSchema, rawUserId, ['userId']);
    await deps.access.requireWriteOn(caller, { organizationId, userId });
    const at = new Date();
    // NOT_FOUND here (another tenant's user) leaves every connection untouched.
    const profile = await naming(true, deps.users.markSynced(organizationId, userId, at, origin));
    await deps.connections.markSynced({ organizationId, userId }, at);
    return profile;
  }

  async function acceptLegalAgreement(
    caller: Caller,
    args: { version: unknown; userId?: string | null },
    origin: AuditOrigin,
  ): Promise<ProfileDto> {
    const target = await deps.access.accountTarget(caller, args.userId ?? undefined, (raw) => parseInput(userIdSchema, raw, ['userId']));
    const version = parseInput(agreementVersionSchema, args.version, ['version']);
    await withinWriteLimit(target);
    return naming(args.userId != null, deps.users.acceptLegalAgreement(target.organizationId, target.userId, version, new Date(), origin));
  }

  async function updateNotificationPreferences(
    caller: Caller,
    args: { input: unknown; userId?: string | null },
    origin: AuditOrigin,
  ): Promise<ProfileDto> {
    const target = await deps.access.accountTarget(caller, args.userId ?? undefined, (raw) => parseInput(userIdSchema, raw, ['userId']));
    const prefs = parseInput(notificationPreferencesSchema, args.input, ['input']);
    await withinWriteLimit(target);
    return naming(args.userId != null, deps.users.updateNotificationPreferences(target.organizationId, target.userId, prefs, origin));
  }

  async function closeAccount(caller: Caller, args: { userId?: string | null }, origin: AuditOrigin): Promise<ProfileDto> {
    const target = await deps.access.accountTarget(caller, args.userId ?? undefined, (raw) => parseInput(userIdSchema, raw, ['userId']));
    // Issue 12 review: a CLOSED account cannot sign in, so its licenses go first (seats back, groups kept),
    // through licensing's last-ADMIN condition: the organization's last company admin is refused (CONFLICT),
    // exactly, under concurrent calls too. Nothing is closed when this refuses; closing again repeats it.
    await deps.licensing
      .revokeAllLicenses(target.organizationId, target.userId, await deps.access.mayActOnAdmin(caller, target), origin)
      .catch((err: unknown) => {
        // Licensing names its own argument (requestedLicenses); here the account is `userId`'s, or the caller's own.
        if (!(err instanceof DomainError) || err.code !== 'CONFLICT' || err.fields.length === 0) throw err;
        throw new DomainError(
          'CONFLICT',
          err.message,
          args.userId != null ? err.fields.map((f) => ({ path: ['userId'], message: f.message })) : [],
          { reason: err.reason },
        );
      });
    const closed = await naming(args.userId != null, deps.users.closeAccount(target.organizationId, target.userId, new Date(), origin));
    // Issue 12, finding 6: closing ends every session. If this fails the call fails and can be
    // repeated (closing is idempotent); identity refuses login and refresh for CLOSED meanwhile.
    await deps.identity.revokeSessions(target.organizationId, target.userId);
    return closed;
  }

  return { markUserSynced, acceptLegalAgreement, updateNotificationPreferences, closeAccount };
}

export type AccountService = ReturnType<typeof createAccountService>;
