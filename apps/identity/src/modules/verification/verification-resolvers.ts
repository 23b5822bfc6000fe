import type { RequestContext } from '@usergraph/service-kit';
import type { AccountVerification } from './account-verification.js';

export function createVerificationResolvers(deps: { accounts: AccountVerification }) {
  return {
    Mutation: {
      verifyEmail: (_: unknown, args: unknown, ctx: RequestContext) => deps.accounts.verifyEmail(args, ctx),
      resendVerificationCode: (_: unknown, args: unknown, ctx: RequestContext) => deps.accounts.resend(args, ctx),
    },
  };
}
