import { z } from 'zod';
import { emailSchema, passwordSchema, slugSchema, validate } from '@usergraph/validation';
import { DomainError, unauthenticated, type Caller } from '@usergraph/service-kit';
import type { OrgUsersClient } from '../../clients.js';
import type { PasswordHasher } from '../passwords/password-hasher.js';
import type { SessionRepository } from '../sessions/session-repository.js';
import type { VerificationService } from '../verification/verification-service.js';
import type { BackgroundQueue } from '../background/background-queue.js';
import { emailAccountKey, userAccountKey, type AccountLimits } from '../limits/account-limits.js';
import type { CredentialRepository } from './credential-repository.js';
import { auditEvent, type AuditOrigin } from '@usergraph/audit';
import type { IdentityAudit } from '../audit/identity-audit.js';
import { findAccountByEmail, NO_ID } from '../verification/account-lookup.js';

const changeArgs = z.object({ currentPassword: z.string().max(1024), newPassword: passwordSchema });
// A malformed slug names no organization: refused as such, not answered like an unknown account.
const requestArgs = z.object({ organizationSlug: slugSchema, email: emailSchema });
const resetArgs = requestArgs.extend({ code: z.string().trim().max(12), newPassword: passwordSchema });

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
  audit: Pick<IdentityAudit, 'record' | 'kickCredentials'>;
}) {
  /** A password event about one user: in the credentials write (kickCredentials relays it). */
  const passwordEvent = (
    origin: AuditOrigin,
    organizationId: string,
    userId: string,
    action: 'user.password_changed' | 'user.password_reset',
  ) => auditEvent(origin, { action, organizationId, target: { type: 'user', id: userId }, outcome: 'success', subjectUserId: userId });
  /**
   * The sessions a password change or reset ends: recorded before they are revoked (it spans sessions),
   * under a fresh id — never the client's X-Request-Id, which a reuse would turn into a hidden "duplicate".
   */
  const revocation = (origin: AuditOrigin, organizationId: string, userId: string) =>
    deps.audit.record(origin, {
      action: 'session.revoked',
      organizationId,
      target: { type: 'user', id: userId },
      outcome: 'success',
      subjectUserId: userId,
    });
  async function change(caller: Caller, raw: unknown, ctx: { clientIp: string; origin: AuditOrigin }) {
    if (caller.kind !== 'user') throw unauthenticated('Sign in as a user to change your password');
    const checked = validate(changeArgs, raw);
    if (!checked.ok) throw invalid(checked.errors);
    // The current password is checked under the login budget of the account: a stolen access
    // token is no unlimited password oracle.
    const accountKey = userAccountKey(caller.organizationId, caller.userId);
    await deps.limits.reserveLogin(ctx.clientIp, accountKey);
    const credential = await deps.credentials.findById(caller.organizationId, caller.userId);
    const valid = credential
      ? await deps.hasher.verify(credential.passwordHash, checked.value.currentPassword).catch(async (err: unknown) => {
          await deps.limits.loginAborted(ctx.clientIp, accountKey);
          throw err;
        })
      : false;
    if (!valid)
      throw new DomainError('BAD_USER_INPUT', 'The current password is wrong', [{ path: ['currentPassword'], message: 'is wrong' }]);
    await deps.limits.loginSucceeded(ctx.clientIp, accountKey);
    await deps.credentials.setPasswordHash(
      caller.organizationId,
      caller.userId,
      await deps.hasher.hash(checked.value.newPassword),
      passwordEvent(ctx.origin, caller.organizationId, caller.userId, 'user.password_changed'),
    );
    deps.audit.kickCredentials(caller.userId);
    await revocation(ctx.origin, caller.organizationId, caller.userId);
    await deps.sessions.revokeForUser(caller.organizationId, caller.userId, new Date(), caller.sessionId);
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
    const existing = await deps.credentials.findById(account.organizationId, account.userId);
    // The user proved the code: the reset is theirs.
    const origin: AuditOrigin = { ...ctx.origin, actor: { type: 'user', id: account.userId } };
    const event = passwordEvent(origin, account.organizationId, account.userId, 'user.password_reset');
    if (existing) await deps.credentials.setPasswordHash(account.organizationId, account.userId, passwordHash, event);
    else
      await deps.credentials.insertOnce({
        _id: account.userId,
        organizationId: account.organizationId,
        passwordHash,
        auditOutbox: [event],
      });
    deps.audit.kickCredentials(account.userId);
    await revocation(origin, account.organizationId, account.userId);
    await deps.sessions.revokeForUser(account.organizationId, account.userId, new Date());
    return { success: true, message: 'Password reset; every session of the account was signed out.' };
  }

  return { change, requestReset, reset };
}

export type PasswordService = ReturnType<typeof createPasswordService>;
