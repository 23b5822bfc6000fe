import type { AccountVerification } from './account-verification.js';

export function createVerificationResolvers(deps: { accounts: AccountVerification }) {
  return {
    Mutation: {
      verifyEmail: (_: unknown, args: unknown) => deps.accounts.verifyEmail(args),
      resendVerificationCode: (_: unknown, args: unknown) => deps.accounts.resend(args),
    },
  };
}
