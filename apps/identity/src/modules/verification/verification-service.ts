import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { DomainError } from '@usergraph/service-kit';
import { normalizeEmail } from '@usergraph/validation';
import type { Notifier } from './notifier.js';
import { codeId, type CodePurpose, type VerificationCodeRepository } from './verification-code-repository.js';

export const CODE_TTL_MS = 10 * 60_000;
export const MAX_CODE_ATTEMPTS = 5;

const SUBJECT: Record<CodePurpose, string> = {
  'email-verification': 'Your verification code',
  'password-reset': 'Your password reset code',
};

/**
 * Six-digit one-time codes for email verification and password reset: stored
 * keyed-hashed, valid 10 minutes, at most 5 attempts each, written to the
 * outbox (the notifier). Callers also hold each account to a failure budget
 * that spans codes (AccountLimits.reserveCodeAttempt).
 */
export function createVerificationService(deps: { codes: VerificationCodeRepository; notifier: Notifier; hmacKey: Buffer }) {
  // Bound to the address it was sent to: after an email change, a code sent to the old one no longer works.
  const hash = (code: string, email: string) =>
    createHmac('sha256', deps.hmacKey)
      .update(`${normalizeEmail(email)}\n${code}`)
      .digest('base64url');

  async function issue(purpose: CodePurpose, user: { organizationId: string; userId: string; email: string }): Promise<void> {
    const code = randomInt(0, 1_000_000).toString().padStart(6, '0');
    const now = new Date();
    await deps.codes.put({
      _id: codeId(purpose, user.organizationId, user.userId),
      organizationId: user.organizationId,
      userId: user.userId,
      purpose,
      codeHash: hash(code, user.email),
      attempts: 0,
      expiresAt: new Date(now.getTime() + CODE_TTL_MS),
      createdAt: now,
    });
    await deps.notifier.send({
      to: user.email,
      subject: SUBJECT[purpose],
      text: `Your code is ${code}. It expires in 10 minutes.`,
    });
  }

  /** Checks a code; a wrong, expired or exhausted code gets one error that says which it is not. */
  async function check(purpose: CodePurpose, user: { organizationId: string; userId: string; email: string }, code: string): Promise<void> {
    const invalid = new DomainError('BAD_USER_INPUT', 'The code is wrong, expired or used up: request a new one', [
      { path: ['code'], message: 'is wrong, expired or used up' },
    ]);
    // A malformed code is refused before it costs one of the attempts.
    if (!/^\d{6}$/.test(code)) throw invalid;
    const id = codeId(purpose, user.organizationId, user.userId);
    const doc = await deps.codes.takeAttempt(id, MAX_CODE_ATTEMPTS, new Date());
    if (!doc) throw invalid;
    const expected = Buffer.from(doc.codeHash);
    const given = Buffer.from(hash(code, user.email));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid;
    await deps.codes.remove(id);
  }

  return { issue, check };
}

export type VerificationService = ReturnType<typeof createVerificationService>;
