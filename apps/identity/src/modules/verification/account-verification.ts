import { z } from 'zod';
import { emailSchema, slugSchema, validate } from '@usergraph/validation';
import { DomainError } from '@usergraph/service-kit';
import type { OrgUsersClient } from '../../clients.js';
import type { VerificationService } from './verification-service.js';

// A malformed slug names no organization: refused as such, not answered like an unknown account.
const verifyArgs = z.object({ organizationSlug: slugSchema, email: emailSchema, code: z.string().trim().max(12) });
const resendArgs = verifyArgs.omit({ code: true });

const RESENT = 'If a pending account exists for this email, a new code was sent.';

/** B's verification flow: PENDING_VERIFICATION until the emailed code is entered. */
export function createAccountVerification(deps: { orgUsers: OrgUsersClient; verification: VerificationService }) {
  async function pendingUser(organizationSlug: string, email: string) {
    const organization = await deps.orgUsers.getOrganizationBySlug(organizationSlug).catch(() => undefined);
    if (!organization) return undefined;
    const userId = await deps.orgUsers.findUserIdByIdentifier(organization.id, 'email', email);
    if (!userId) return undefined;
    const profile = await deps.orgUsers.getProfile(organization.id, userId);
    return profile.status === 'PENDING_VERIFICATION' ? { organizationId: organization.id, userId, email: profile.email } : undefined;
  }

  async function verifyEmail(raw: unknown) {
    const checked = validate(verifyArgs, raw);
    if (!checked.ok) throw new DomainError('BAD_USER_INPUT', 'Invalid input', checked.errors);
    const { organizationSlug, email, code } = checked.value;
    const user = await pendingUser(organizationSlug, email);
    if (!user) {
      throw new DomainError('BAD_USER_INPUT', 'The code is wrong, expired or used up: request a new one', [
        { path: ['code'], message: 'is wrong, expired or used up' },
      ]);
    }
    await deps.verification.check('email-verification', user, code);
    await deps.orgUsers.setUserStatus(user.organizationId, user.userId, 'ACTIVE');
    return { success: true, message: 'Email verified: the account is active.' };
  }

  async function resend(raw: unknown) {
    const checked = validate(resendArgs, raw);
    if (!checked.ok) throw new DomainError('BAD_USER_INPUT', 'Invalid input', checked.errors);
    const user = await pendingUser(checked.value.organizationSlug, checked.value.email);
    if (user) await deps.verification.issue('email-verification', user);
    return { success: true, message: RESENT };
  }

  return { verifyEmail, resend };
}

export type AccountVerification = ReturnType<typeof createAccountVerification>;
