import type { AuditOriginOf } from '@usergraph/audit';
import type { Resolvers } from '../../generated/resolvers-types.js';
import type { AccountVerification } from './account-verification.js';

export function createVerificationResolvers(deps: { accounts: AccountVerification; auditOrigin: AuditOriginOf }): Resolvers {
  return {
    Mutation: {
      verifyEmail: (_, args, ctx) => deps.accounts.verifyEmail(args, { ...ctx, origin: () => deps.auditOrigin(ctx) }),
      resendVerificationCode: (_, args, ctx) => deps.accounts.resend(args, ctx),
    },
  };
}
