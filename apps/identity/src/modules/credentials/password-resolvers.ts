import { originOf } from '@usergraph/audit';
import type { Resolvers } from '../../generated/resolvers-types.js';
import type { PasswordService } from './password-service.js';

export function createPasswordResolvers(deps: { passwords: PasswordService }): Resolvers {
  return {
    Mutation: {
      changePassword: (_, args, ctx) => deps.passwords.change(ctx.caller, args, { clientIp: ctx.clientIp, origin: originOf(ctx) }),
      requestPasswordReset: (_, args, ctx) => deps.passwords.requestReset(args, ctx),
      resetPassword: (_, args, ctx) => deps.passwords.reset(args, { clientIp: ctx.clientIp, origin: originOf(ctx) }),
    },
  };
}
