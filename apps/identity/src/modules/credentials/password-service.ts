import { z } from 'zod';
import { emailSchema, passwordSchema, slugSchema, validate } from '@usergraph/validation';
import { DomainError, unauthenticated, type Caller } from '@usergraph/service-kit';
import type { OrgUsersClient } from '../../clients.js';
import type { PasswordHasher } from '../passwords/password-hasher.js';
import type { SessionRepository } from '../sessions/session-repository.js';
import type { VerificationService } from '../verification/verification-service.js';
import type { BackgroundQueue } from '../background/background-queue.js';
import { emailAccountKey, userAccountKey, type AccountLimits } from '../limits/account-limits.js';
import { callerSessionStands, type CredentialRepository } from './credential-repository.js';
import { auditEvent, type AuditOrigin } from '@usergraph/audit';
import type { IdentityAudit } from '../audit/identity-audit.js';
import { findAccountByEmail, NO_ID } from '../verification/account-lookup.js';

const changeArgs = z.object({ currentPassword: z.string().max(1024), newPassword: passwordSchema });
// A malformed slug names no organization: refused as such, not answered like an unknown account.
const requestArgs = z.object({ organizationSlug: slugSchema, email: emailSchema });
const resetArgs = requestArgs.extend({ code: z.string().trim().max(12), newPassword: passwordSchema });

/** Passes of a reset over a credential that concurrent changes keep moving. */
const RESET_ATTEMPTS = 3;

const RESET_SENT = 'If an account exists for this email, a reset code was sent.';

function invalid(errors: Array<{ path: string[]; message: string }>) {
  return new DomainError('BAD_USER_INPUT', `Invalid input: ${errors.map((e) => `${e.path.join('.')} ${e.message}`).join('; ')}`, errors);
}

/** Password change (signed in) and reset (by a code sent through the notifier). */
export function createPasswordService(deps: {
  credentials: CredentialRepository;
  hasher: PasswordHasher;
  sessions: SessionRepository;
  orgUsers: OrgUsersClient;
  verification: VerificationService;
  limits: AccountLimits;
  background: BackgroundQueue;
  audit: Pick<IdentityAudit, 'kickCredentials' | 'record'>;
}) {
  /** A password event about one user: in the credentials write (kickCredentials relays it). */
  const passwordEvent = (
    origin: AuditOrigin,
    organizationId: string,
    userId: string,
    action: 'user.password_changed' | 'user.password_reset',
  ) => auditEvent(origin, { action, organizationId, target: { type: 'user', id: userId }, outcome: 'success', subjectUserId: userId });
  /** The sessions a password change or reset ends: in the same credentials write as the new hash and its cut-off. */
  const revocation = (origin: AuditOrigin, organizationId: string, userId: string) =>
    auditEvent(origin, {
      action: 'session.revoked',
      organizationId,
      target: { type: 'user', id: userId },
      outcome: 'success',
      subjectUserId: userId,
    });
  /** A concurrent change or reset won the compare-and-set: nothing was written. */
  const concurrentChange = () =>
    new DomainError('CONFLICT', 'The password was changed concurrently; try again', [], { reason: 'CONCURRENT_CHANGE' });

  async function change(caller: Caller, raw: unknown, ctx: { clientIp: string; origin: AuditOrigin }) {
    if (caller.kind !== 'user') throw unauthenticated('Sign in as a user to change your password');
    const checked = validate(changeArgs, raw);
    if (!checked.ok) throw invalid(checked.errors);
    const { organizationId, userId } = caller;
    // The current password is checked under the login budget of the account, with login's lockout
    // and its trail: a stolen access token is no unlimited, silent password oracle. The caller is
    // signed in: a failure is theirs (the actor), against their account (the target).
    const accountKey = userAccountKey(organizationId, userId);
    // Changes per user (issue 17: each costs two hashes), reserved first; a wrong current password gives it
    // back, as guesses are login's budget (its lockout and events) instead.
    await deps.limits.reservePasswordChange(accountKey);
    const target = { type: 'user', id: userId };
    await deps.limits
      .reserveLogin(ctx.clientIp, accountKey, (lockout) =>
        deps.audit.record(ctx.origin, {
          action: 'user.locked_out',
          organizationId,
          target,
          outcome: 'refused',
          subjectUserId: userId,
          // The same id as login's for the same lockout: one event per lockout, whichever path met it.
          key: [organizationId, userId, 'user.locked_out', String(lockout.until.getTime())],
        }),
      )
      .catch(async (err: unknown) => {
        await deps.limits.passwordChangeNotMade(accountKey);
        throw err;
      });
    const credential = await deps.credentials.findById(organizationId, userId);
    const valid = credential
      ? await deps.hasher.verify(credential.passwordHash, checked.value.currentPassword).catch(async (err: unknown) => {
          await deps.limits.loginAborted(ctx.clientIp, accountKey);
          await deps.limits.passwordChangeNotMade(accountKey);
          throw err;
        })
      : false;
    if (!credential || !valid) {
      await deps.limits.passwordChangeNotMade(accountKey);
      await deps.audit.record(ctx.origin, {
        action: 'user.login_failed',
        organizationId,
        target,
        outcome: 'failure',
        subjectUserId: userId,
      });
      throw new DomainError('BAD_USER_INPUT', 'The current password is wrong', [{ path: ['currentPassword'], message: 'is wrong' }]);
    }
    await deps.limits.loginSucceeded(ctx.clientIp, accountKey);
    // The caller's own login stays signed in only while it stands under the credential just checked
    // (a reset or sign-out everywhere that came first ended it; the write below fails if one comes after).
    const own = await deps.sessions.findById(caller.sessionId);
    if (!callerSessionStands(own, caller, credential)) throw unauthenticated('This session has ended; sign in again');
    // Shed (RATE_LIMITED "busy"): no new hash was made and nothing written, so the change is given back. A
    // session that ended (above) and a lost compare-and-set (below) keep counting: each spent its hashing.
    const passwordHash = await deps.hasher.hash(checked.value.newPassword).catch(async (err: unknown) => {
      await deps.limits.passwordChangeNotMade(accountKey);
      throw err;
    });
    // Every other session is cut off by this one write, made only if the credential is still the one checked.
    const written = await deps.credentials.setPasswordHash(
      organizationId,
      userId,
      credential,
      passwordHash,
      [passwordEvent(ctx.origin, organizationId, userId, 'user.password_changed'), revocation(ctx.origin, organizationId, userId)],
      own.familyId,
    );
    if (!written) throw concurrentChange();
    deps.audit.kickCredentials(userId);
    // Cleanup: the cut-off already refuses them. The caller's login (family) is kept, whichever of its sessions is current.
    await deps.sessions.revokeForUser(organizationId, userId, new Date(), own.familyId);
    return { success: true, message: 'Password changed; your other sessions were signed out.' };
  }

  const findAccount = (organizationSlug: string, email: string) => findAccountByEmail(deps.orgUsers, organizationSlug, email);

  /**
   * Answers at once, whether or not the account exists; the account is
   * looked up and its code sent afterwards, so timing reveals nothing. A
   * CLOSED account gets no code, and neither does an email changed since it
   * was last verified (finding 7): the code goes to the stored address only.
   */
  async function requestReset(raw: unknown, ctx: { clientIp: string }) {
    const checked = validate(requestArgs, raw);
    if (!checked.ok) throw invalid(checked.errors);
    const { organizationSlug, email } = checked.value;
    await deps.limits.perIp(ctx.clientIp);
    const accountKey = emailAccountKey(organizationSlug, email);
    await deps.limits.perAccount(accountKey);
    await deps.limits.issueCode(ctx.clientIp, accountKey);
    deps.background.enqueue('password reset code', async () => {
      const account = await findAccount(organizationSlug, email);
      if (!account || account.profile.status === 'CLOSED' || !account.profile.emailVerified) return;
      // Users created by C's registerUser have no password yet: a reset sets the first one.
      await deps.verification.issue('password-reset', {
        organizationId: account.organizationId,
        userId: account.userId,
        email: account.profile.email,
      });
    });
    return { success: true, message: RESET_SENT };
  }

  async function reset(raw: unknown, ctx: { clientIp: string; origin: AuditOrigin }) {
    const checked = validate(resetArgs, raw);
    if (!checked.ok) throw invalid(checked.errors);
    const { organizationSlug, email, code, newPassword } = checked.value;
    await deps.limits.perIp(ctx.clientIp);
    const accountKey = emailAccountKey(organizationSlug, email);
    await deps.limits.perAccount(accountKey);
    // The account's budget spans every code it is sent; reserved whether or not it exists.
    await deps.limits.reserveCodeAttempt(accountKey);
    const found = await findAccount(organizationSlug, email);
    const account = found && found.profile.status !== 'CLOSED' ? found : undefined;
    // No such account (or a CLOSED one): the same check against a code that does not exist, which fails.
    await deps.verification.check(
      'password-reset',
      account ? { ...account, email: account.profile.email } : { organizationId: NO_ID, userId: NO_ID, email },
      code,
    );
    if (!account)
      throw new DomainError('BAD_USER_INPUT', 'The code is wrong, expired or used up: request a new one', [
        { path: ['code'], message: 'is wrong, expired or used up' },
      ]);
    await deps.limits.codeSucceeded(accountKey);
    const passwordHash = await deps.hasher.hash(newPassword);
    // The user proved the code: the reset is theirs.
    const origin: AuditOrigin = { ...ctx.origin, actor: { type: 'user', id: account.userId } };
    const event = passwordEvent(origin, account.organizationId, account.userId, 'user.password_reset');
    // The code decides, not the password it replaces: a change that lands between the read and the
    // write is overwritten by reading again (bounded), never the other way round.
    let written = false;
    for (let attempt = 0; attempt < RESET_ATTEMPTS && !written; attempt++) {
      const existing = await deps.credentials.findById(account.organizationId, account.userId);
      written = existing
        ? // Every session ends, by the cut-off in the same write as the new hash.
          await deps.credentials.setPasswordHash(account.organizationId, account.userId, existing, passwordHash, [
            event,
            revocation(origin, account.organizationId, account.userId),
          ])
        : // No credentials yet (C's registerUser): no session to end. False if a concurrent reset created them.
          await deps.credentials.insertOnce({
            _id: account.userId,
            organizationId: account.organizationId,
            passwordHash,
            auditOutbox: [event],
          });
    }
    if (!written) throw concurrentChange();
    deps.audit.kickCredentials(account.userId);
    // Cleanup: the cut-off already refuses them.
    await deps.sessions.revokeForUser(account.organizationId, account.userId, new Date());
    return { success: true, message: 'Password reset; every session of the account was signed out.' };
  }

  return { change, requestReset, reset };
}

export type PasswordService = ReturnType<typeof createPasswordService>;
