import type { Resolvers } from '../../generated/resolvers-types.js';
import type { AccountVerification } from './account-verification.js';

export function createVerificationResolvers(deps: { accounts: AccountVerification }): Resolvers {
  return {
    Mutation: {
      verifyEmail: (_, args, ctx) => deps.accounts.verifyEmail(args, ctx),
      resendVerificationCode: (_, args, ctx) => deps.accounts.resend(args, ctx),
    },
  };
}
