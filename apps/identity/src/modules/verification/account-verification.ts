import { z } from 'zod';
import { emailSchema, slugSchema, validate } from '@usergraph/validation';
import type { AuditOrigin } from '@usergraph/audit';
import { DomainError, type Caller } from '@usergraph/service-kit';
import type { OrgUsersClient } from '../../clients.js';
import type { BackgroundQueue } from '../background/background-queue.js';
import { emailAccountKey, type AccountLimits } from '../limits/account-limits.js';
import type { VerificationService } from './verification-service.js';
import { findAccountByEmail, NO_ID } from './account-lookup.js';

// A malformed slug names no organization: refused as such, not answered like an unknown account.
const verifyArgs = z.object({ organizationSlug: slugSchema, email: emailSchema, code: z.string().trim().max(12) });
const resendArgs = verifyArgs.omit({ code: true });

const RESENT = 'If a pending account exists for this email, a new code was sent.';

const wrongCode = () =>
  new DomainError('BAD_USER_INPUT', 'The code is wrong, expired or used up: request a new one', [
    { path: ['code'], message: 'is wrong, expired or used up' },
  ]);

/**
 * B's verification flow: PENDING_VERIFICATION until the emailed code is
 * entered. The same two operations verify a changed email (issue 12, finding
 * 7), but only for the signed-in user it belongs to: whoever changed the
 * address (an admin) may own it, so receiving mail there proves nothing.
 */
export function createAccountVerification(deps: {
  orgUsers: OrgUsersClient;
  verification: VerificationService;
  limits: AccountLimits;
  background: BackgroundQueue;
}) {
  async function unverifiedUser(organizationSlug: string, email: string, caller: Caller) {
    const account = await findAccountByEmail(deps.orgUsers, organizationSlug, email);
    if (!account) return undefined;
    const { organizationId, userId, profile } = account;
    const user = { organizationId, userId, email: profile.email, pending: profile.status === 'PENDING_VERIFICATION' };
    const changed = !profile.emailVerified;
    // A pending account verifies the address it registered with, anonymously.
    if (user.pending && !changed) return user;
    // A changed address: only the user, signed in (whoever changed it may own it).
    const self = caller.kind === 'user' && caller.organizationId === organizationId && caller.userId === userId;
    return self && changed && profile.status !== 'CLOSED' ? user : undefined;
  }

  /** `ctx.origin`: who acts, for the events; asked only for an account to verify, before its code is used up. */
  async function verifyEmail(raw: unknown, ctx: { clientIp: string; caller: Caller; origin: () => Promise<AuditOrigin> }) {
    const checked = validate(verifyArgs, raw);
    if (!checked.ok) throw new DomainError('BAD_USER_INPUT', 'Invalid input', checked.errors);
    const { organizationSlug, email, code } = checked.value;
    await deps.limits.perIp(ctx.clientIp);
    const account = emailAccountKey(organizationSlug, email);
    await deps.limits.perAccount(account);
    // Reserved whether or not the account exists, so the budget reveals nothing either.
    await deps.limits.reserveCodeAttempt(account);
    const user = await unverifiedUser(organizationSlug, email, ctx.caller);
    // Who proves the code, resolved before the code is used up: a failed lookup (licensing down) leaves it valid.
    const origin = user ? await ctx.origin() : undefined;
    // No such account (or none to verify here): the same check against a code that does not exist.
    await deps.verification.check('email-verification', user ?? { organizationId: NO_ID, userId: NO_ID, email }, code);
    if (!user || !origin) throw wrongCode();
    await deps.limits.codeSucceeded(account);
    // Each records its event with its change (user.email_verified, user.activated), naming who proved the code.
    await deps.orgUsers.markEmailVerified(user.organizationId, user.userId, user.email, origin);
    if (user.pending) await deps.orgUsers.setUserStatus(user.organizationId, user.userId, 'ACTIVE', origin);
    return { success: true, message: user.pending ? 'Email verified: the account is active.' : 'Email verified.' };
  }

  /** Answers at once; the account is looked up and its code sent afterwards (timing reveals nothing). */
  async function resend(raw: unknown, ctx: { clientIp: string; caller: Caller }) {
    const checked = validate(resendArgs, raw);
    if (!checked.ok) throw new DomainError('BAD_USER_INPUT', 'Invalid input', checked.errors);
    const { organizationSlug, email } = checked.value;
    await deps.limits.perIp(ctx.clientIp);
    const account = emailAccountKey(organizationSlug, email);
    await deps.limits.perAccount(account);
    await deps.limits.issueCode(ctx.clientIp, account);
    const caller = ctx.caller;
    deps.background.enqueue('verification code', async () => {
      const user = await unverifiedUser(organizationSlug, email, caller);
      if (user) await deps.verification.issue('email-verification', user);
    });
    return { success: true, message: RESENT };
  }

  return { verifyEmail, resend };
}

export type AccountVerification = ReturnType<typeof createAccountVerification>;
